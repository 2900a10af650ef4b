create extension if not exists hstore;
create extension if not exists ltree;
create extension if not exists citext;
create type mood as enum ('sad', 'ok', 'happy');
create domain posint as integer check (value > 0);
create table t (
  id int primary key,
  c_bool boolean not null default true, c_int2 smallint, c_int4 integer not null default 7, c_int8 bigint,
  c_float4 real, c_float8 double precision,
  c_num numeric(10,2), c_num0 numeric(5), c_num_free numeric, c_money money,
  c_text text default 'dflt', c_varchar varchar(20), c_char char(5), c_citext citext, c_name name,
  c_bytea bytea, c_json json, c_jsonb jsonb, c_xml xml, c_uuid uuid,
  c_date date, c_time time, c_time3 time(3), c_timetz timetz, c_ts timestamp, c_ts3 timestamp(3), c_ts0 timestamp(0),
  c_tstz timestamptz, c_tstz3 timestamptz(3),
  c_interval interval, c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8,
  c_bit1 bit(1), c_bit8 bit(8), c_varbit varbit(16), c_mood mood, c_dom posint, c_oid oid,
  c_hstore hstore, c_ltree ltree, c_point point, c_int4range int4range, c_tsrange tsrange,
  c_ints int[], c_texts text[], c_nums numeric(6,2)[], c_uuids uuid[], c_dates date[], c_moods mood[], c_jsonbs jsonb[],
  c_serial serial
);
create table k2 (a int, b text, c varchar(10) not null, primary key (b, a));
create table nopk (x int, y text);
create table d (
  id int primary key,
  n_num numeric(8,3) default 1.5, n_int_neg int default -1, n_big bigint not null default 9000000000,
  n_vc varchar(10) default 'it''s', n_char char(3) default 'x', n_f8 float8 default 2.5, n_f4 real default 0.25,
  n_bool_f boolean default false, n_jsonb jsonb default '{}', n_uuid uuid default gen_random_uuid(),
  n_date date default '2024-01-01', n_time time default '10:00', n_ts timestamp default '2024-01-15 10:31:00',
  n_tstz timestamptz default now(), n_tsnn timestamp not null default now(), n_interval interval default '1 day',
  n_bit bit(3) default B'101', n_bit1 bit(1) default B'1', n_bytea bytea default '\x01', n_mood mood default 'ok',
  n_int_null int default null, n_text_null text default null, n_numfree numeric default 7, n_small smallint default 3,
  n_dom posint default 4, n_money money default 1.25, n_ts3 timestamp(3) default '2024-01-15 10:31:00.5'
);
