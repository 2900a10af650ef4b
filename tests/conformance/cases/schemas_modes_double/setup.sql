create extension if not exists hstore;
create table m (
  id int primary key,
  c_num numeric(10,2), c_num_free numeric, c_money money, c_bytea bytea,
  c_time time, c_time3 time(3), c_ts timestamp, c_ts3 timestamp(3), c_date date,
  c_interval interval, c_tstz3 timestamptz(3), c_timetz timetz, c_hstore hstore,
  c_bit8 bit(8), c_nums numeric(6,2)[], c_byteas bytea[], c_times time[]
);
create table bk (id bytea primary key, n numeric(4,1));
