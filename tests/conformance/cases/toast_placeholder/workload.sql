insert into big select 1, 'v1', repeat('t', 5000), repeat('v', 5000), decode(repeat('ab', 5000), 'hex'),
  (select jsonb_object_agg('k' || g, g) from generate_series(1, 600) g),
  (select json_object_agg('k' || g, g) from generate_series(1, 600) g)::text::json,
  (select array_agg(g) from generate_series(1, 3000) g),
  (select array_agg(repeat('s', 20)) from generate_series(1, 400) g),
  ('<r>' || repeat('x', 5000) || '</r>')::xml;
update big set tag = 'v2' where id = 1;
update big set c_int_arr = '{1}', tag = 'v3' where id = 1;
delete from big where id = 1;
