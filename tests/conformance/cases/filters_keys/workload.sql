insert into orders values (1, 'acme', 'eu', 10, 'x', 'y');
update orders set amount = 20 where id = 1;
delete from orders where id = 1;
insert into people values (1, 'ann', 'hunter2');
update people set secret = 'changed' where id = 1;
insert into ignored values (1, 'nope');
