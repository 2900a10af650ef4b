create table s (
  id int primary key,
  c_f4 real, c_f8 double precision, c_num numeric, c_num_s numeric(10,3),
  c_ts timestamp, c_tstz timestamptz, c_date date, c_time time, c_timetz timetz, c_interval interval
);
