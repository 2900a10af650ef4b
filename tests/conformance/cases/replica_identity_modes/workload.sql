insert into by_index values (1, 'A', 'first'), (2, 'B', 'second');
update by_index set note = 'edited' where id = 1;
update by_index set code = 'C' where id = 2;
delete from by_index where id = 1;
insert into by_nothing values (1, 'one');
insert into by_default_nopk values (1, 'x');
