insert into orders values (1, 'apple', null, null);
insert into orders (id, item) values (2, 'pear');
update orders set qty = null where id = 2;
delete from orders where id = 1;
