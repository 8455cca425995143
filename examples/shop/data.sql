-- Data for the example shop: deterministic (setseed), skewed like a real shop, loads in seconds.
-- 20,000 customers (5% soft-deleted), 2,000 products (10% inactive), 50 tags, 300,000 orders
-- (status skewed: delivered 90%, shipped 6%, cancelled 3%, pending 1%; a few customers own
-- many orders), 600,000 order items, 20,000 reviews, 2,000 users.
-- Works on the schema from schema.sql or from `manage.py migrate` (explicit ids, sequences reset).
SELECT setseed(0.42);

INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT i, '!', CASE WHEN random() < 0.7 THEN timestamptz '2026-01-01' - random() * interval '90 days' END,
       false, 'user' || i, 'First' || i, 'Last' || i, 'user' || i || '@example.com', i <= 20, true,
       timestamptz '2025-01-01' + (i % 365) * interval '1 day'
FROM generate_series(1, 2000) AS i;

INSERT INTO shop_customer (id, email, name, is_active, created_at, deleted_at)
SELECT i,
       CASE WHEN i % 7 = 0 THEN 'Customer' || i || '@Example.COM' ELSE 'customer' || i || '@example.com' END,
       'Customer ' || i,
       random() < 0.95,
       timestamptz '2024-01-01' + random() * interval '700 days',
       CASE WHEN random() < 0.05 THEN timestamptz '2026-01-01' - random() * interval '200 days' END
FROM generate_series(1, 20000) AS i;

INSERT INTO shop_tag (id, name) SELECT i, 'tag-' || i FROM generate_series(1, 50) AS i;

INSERT INTO shop_product (id, name, sku_code, price, is_active)
SELECT i, 'Product ' || i, 'SKU-' || lpad(i::text, 6, '0'), round((1 + random() * 499)::numeric, 2), random() < 0.9
FROM generate_series(1, 2000) AS i;

INSERT INTO shop_product_tags (product_id, tag_id)
SELECT p, t FROM generate_series(1, 2000) AS p, generate_series(1, 50) AS t WHERE random() < 0.06;

INSERT INTO shop_order (id, customer_id, status, created_at, total, deleted_at)
SELECT i,
       1 + floor(20000 * power(random(), 3))::int,
       CASE WHEN r < 0.90 THEN 'delivered' WHEN r < 0.96 THEN 'shipped' WHEN r < 0.99 THEN 'cancelled' ELSE 'pending' END,
       timestamptz '2026-01-01' - random() * interval '730 days',
       round((5 + random() * 995)::numeric, 2),
       CASE WHEN random() < 0.02 THEN timestamptz '2026-01-01' - random() * interval '100 days' END
FROM (SELECT i, random() AS r FROM generate_series(1, 300000) AS i) AS s;

INSERT INTO shop_orderitem (id, order_id, product_id, quantity, price)
SELECT i, 1 + (i - 1) / 2, 1 + floor(2000 * power(random(), 2))::int, 1 + floor(random() * 5)::int,
       round((1 + random() * 499)::numeric, 2)
FROM generate_series(1, 600000) AS i;

INSERT INTO reviews (id, product_id, author_id, rating, body, created_at)
SELECT i, 1 + floor(2000 * random())::int, CASE WHEN random() < 0.8 THEN 1 + floor(2000 * random())::int END,
       1 + floor(random() * 5)::int, repeat('Review text ' || i || ' about the product. ', 20), timestamptz '2026-01-01' - random() * interval '365 days'
FROM generate_series(1, 20000) AS i;

SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT max(id) FROM shop_customer)) FROM (VALUES ('shop_customer')) v(t);
SELECT setval(pg_get_serial_sequence('shop_order', 'id'), 300000);
SELECT setval(pg_get_serial_sequence('shop_orderitem', 'id'), 600000);
SELECT setval(pg_get_serial_sequence('shop_product', 'id'), 2000);
SELECT setval(pg_get_serial_sequence('shop_tag', 'id'), 50);
SELECT setval(pg_get_serial_sequence('reviews', 'id'), 20000);
SELECT setval(pg_get_serial_sequence('auth_user', 'id'), 2000);
SELECT setval(pg_get_serial_sequence('shop_product_tags', 'id'), (SELECT coalesce(max(id), 1) FROM shop_product_tags));
VACUUM ANALYZE;
