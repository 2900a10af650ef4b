insert into events values (1, 'audit', 'a');
insert into events values (2, 'billing', 'b');
update events set payload = 'a2' where id = 1;
update events set target = 'billing' where id = 1;
update events set id = 3 where id = 2;
delete from events where id = 1;
