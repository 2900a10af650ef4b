create table orders_2024 (id int primary key, item text not null, qty int);
create table orders_2025 (id int primary key, item text not null, qty int);
alter table orders_2024 replica identity full;
alter table orders_2025 replica identity full;
