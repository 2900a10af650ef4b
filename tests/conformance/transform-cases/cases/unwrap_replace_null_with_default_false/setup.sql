create table orders (id int primary key, item text not null, qty int default 1, note text default 'none');
alter table orders replica identity full;
