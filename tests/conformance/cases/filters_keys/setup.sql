create table orders (id int primary key, customer text, region text, amount int, internal_a text, internal_b text);
create table people (id int primary key, name text, secret text);
create table ignored (id int primary key, v text);
