insert into orders values (1, 'apple', 3);
insert into orders values (2, 'pear', 5);
truncate orders;
insert into orders values (3, 'plum', 7);
