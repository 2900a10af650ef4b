create table orders (id int primary key, item text not null, qty int);
create table customers (id int primary key, name text not null);
alter table orders replica identity full;
alter table customers replica identity full;
