create table ev (id int primary key, v text not null);
create table ev2 (id serial primary key, note varchar(8));
insert into ev values (1, 'a'), (2, 'b');
