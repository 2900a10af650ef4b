begin;
update ev set v = 'a2' where id = 1;
delete from ev where id = 2;
insert into ev2 (note) values ('n');
commit;
truncate ev;
select pg_logical_emit_message(false, 'audit', 'non-transactional hello');
insert into ev values (5, 'x');
select pg_logical_emit_message(false, 'bin', '\x00ff10'::bytea);
