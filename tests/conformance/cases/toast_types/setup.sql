create table big (
  id int primary key,
  tag text,
  c_text text, c_varchar varchar, c_bytea bytea, c_jsonb jsonb, c_json json,
  c_int_arr int[], c_text_arr text[], c_xml xml
);
alter table big alter column c_text set storage external;
alter table big alter column c_varchar set storage external;
alter table big alter column c_bytea set storage external;
alter table big alter column c_jsonb set storage external;
alter table big alter column c_json set storage external;
alter table big alter column c_int_arr set storage external;
alter table big alter column c_text_arr set storage external;
alter table big alter column c_xml set storage external;
