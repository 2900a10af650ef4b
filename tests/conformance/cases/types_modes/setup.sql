create table m (
  id int primary key,
  c_num numeric(10,2), c_num_free numeric, c_money money, c_bytea bytea,
  c_time time, c_time3 time(3), c_ts timestamp, c_ts3 timestamp(3), c_date date,
  c_interval interval, c_tstz3 timestamptz(3)
);
