create table orders (id int primary key, item text not null, qty int, note text);
