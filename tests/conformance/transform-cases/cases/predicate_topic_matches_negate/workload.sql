insert into orders values (1, 'apple', 3);
insert into customers values (1, 'ana');
update orders set qty = 4 where id = 1;
update customers set id = 2 where id = 1;
delete from orders where id = 1;
delete from customers where id = 2;
