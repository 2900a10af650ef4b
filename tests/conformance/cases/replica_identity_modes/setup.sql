create table by_index (id int primary key, code text not null, note text);
create unique index by_index_code on by_index (code);
alter table by_index replica identity using index by_index_code;
create table by_nothing (id int primary key, note text);
alter table by_nothing replica identity nothing;
create table by_default_nopk (a int, b text);
