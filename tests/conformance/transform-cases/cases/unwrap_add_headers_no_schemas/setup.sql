create table orders (id int primary key, item text not null, qty int);
alter table orders replica identity full;
