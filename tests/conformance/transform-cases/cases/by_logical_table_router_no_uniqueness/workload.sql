insert into orders_2024 values (1, 'apple', 3);
insert into orders_2025 values (1, 'plum', 7);
insert into orders_2025 values (2, 'pear', 5);
update orders_2024 set qty = 4 where id = 1;
update orders_2025 set id = 3 where id = 2;
delete from orders_2024 where id = 1;
