-- A short e-commerce workload: what the demo streams.
INSERT INTO customers (email, full_name, country) VALUES
    ('ada@example.com', 'Ada Lovelace', 'GB'),
    ('grace@example.com', 'Grace Hopper', 'US');

INSERT INTO products (sku, name, price, in_stock, attributes) VALUES
    ('KB-01', 'Mechanical keyboard', 89.90, 25, '{"layout": "ISO", "switch": "brown"}'),
    ('MS-02', 'Wireless mouse', 24.50, 100, '{"dpi": 1600}');

BEGIN;
INSERT INTO orders (customer_id, status) VALUES (1, 'pending');
INSERT INTO order_items VALUES (1, 1, 1, 1, 89.90), (1, 2, 2, 2, 24.50);
UPDATE orders SET total = 138.90 WHERE id = 1;
UPDATE products SET in_stock = in_stock - 1 WHERE id = 1;
UPDATE products SET in_stock = in_stock - 2 WHERE id = 2;
INSERT INTO inventory_log (product_id, delta, reason) VALUES (1, -1, 'order 1'), (2, -2, 'order 1');
COMMIT;

UPDATE orders SET status = 'shipped' WHERE id = 1;
UPDATE customers SET full_name = 'Grace B. Hopper' WHERE id = 2;
DELETE FROM inventory_log WHERE reason = 'order 1' AND product_id = 2;
