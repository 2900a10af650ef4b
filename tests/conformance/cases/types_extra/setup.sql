create extension hstore;
create extension ltree;
create extension citext;
create domain posint as int check (value > 0);
create type pair as (a int, b text);
create table x (
  id int primary key,
  c_int4range int4range, c_int8range int8range, c_numrange numrange,
  c_tsrange tsrange, c_tstzrange tstzrange, c_daterange daterange,
  c_point point, c_line line, c_lseg lseg, c_box box, c_path path, c_polygon polygon, c_circle circle,
  c_tsvector tsvector, c_oid oid, c_xid xid, c_bit bit(4), c_bit1 bit, c_varbit varbit(16),
  c_macaddr8 macaddr8, c_citext citext, c_ltree ltree, c_hstore hstore,
  c_domain posint, c_pair pair, c_name name, c_char1 "char",
  c_int_arr int[], c_text_arr text[], c_uuid_arr uuid[], c_tstz_arr timestamptz[], c_num_arr numeric(5,1)[],
  c_bool_arr boolean[], c_f8_arr float8[], c_varchar_arr varchar(10)[], c_date_arr date[], c_inet_arr inet[]
);
