create extension hstore;
create table h (id int primary key, attrs hstore, payload bytea, attrs_arr hstore[]);
