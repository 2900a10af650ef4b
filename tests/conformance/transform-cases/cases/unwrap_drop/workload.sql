insert into orders values (1, 'apple', 3);
insert into orders values (2, 'pear', 5);
update orders set qty = 4 where id = 1;
update orders set id = 3 where id = 2;
delete from orders where id = 1;
