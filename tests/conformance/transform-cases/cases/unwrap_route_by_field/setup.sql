create table events (id int primary key, target text not null, payload text);
alter table events replica identity full;
