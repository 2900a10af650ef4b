insert into orders values (1, 'apple', 3);
select pg_logical_emit_message(true, 'audit', 'in a transaction');
select pg_logical_emit_message(false, 'audit', 'not transactional');
begin;
insert into orders values (2, 'pear', 5);
select pg_logical_emit_message(true, 'audit', 'with a row');
commit;
delete from orders where id = 1;
