insert into h values (1, 'a=>1, "b c"=>NULL, "quote\"d"=>"x,y"', '\xdeadbeef', array['k=>v'::hstore]);
insert into h values (2, '', '\x', '{}');
insert into h (id) values (3);
update h set attrs = 'z=>26' where id = 1;
delete from h where id = 2;
