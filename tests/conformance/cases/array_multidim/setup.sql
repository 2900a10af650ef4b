create table md (id int primary key, i2 int[][], t2 text[][], i3 int[][][], n2 numeric[][], declared1 int[]);
