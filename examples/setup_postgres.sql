-- The e-commerce schema used by the demo, the examples and the tests.
-- Run it in an empty database: psql -d shop -f examples/setup_postgres.sql

CREATE TABLE customers (
    id          serial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    full_name   text NOT NULL,
    country     char(2),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id          serial PRIMARY KEY,
    sku         varchar(32) NOT NULL UNIQUE,
    name        text NOT NULL,
    price       numeric(10,2) NOT NULL,
    in_stock    integer NOT NULL DEFAULT 0,
    attributes  jsonb,
    active      boolean NOT NULL DEFAULT true
);

CREATE TABLE orders (
    id           bigserial PRIMARY KEY,
    customer_id  integer NOT NULL REFERENCES customers(id),
    status       text NOT NULL DEFAULT 'pending',
    total        numeric(12,2) NOT NULL DEFAULT 0,
    placed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
    order_id    bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line_no     smallint NOT NULL,
    product_id  integer NOT NULL REFERENCES products(id),
    quantity    integer NOT NULL,
    unit_price  numeric(10,2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE inventory_log (
    id          bigserial PRIMARY KEY,
    product_id  integer NOT NULL REFERENCES products(id),
    delta       integer NOT NULL,
    reason      text,
    logged_at   timestamp NOT NULL DEFAULT now()
);

-- Full before-images for orders, so updates and deletes carry the old row.
ALTER TABLE orders REPLICA IDENTITY FULL;
