-- The psql scenario: DDL, DML, a transaction rolled back, rows with NULL,
-- a syntax error, an unknown table, server-generated values, cleanup.
-- It leaves the database as it found it, so it replays on the server it
-- was recorded on.
CREATE TABLE conf_items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
INSERT INTO conf_items VALUES (1, 'apple', 1.50), (2, 'pear', 2.25), (3, 'plum', NULL);
SELECT id, name, price FROM conf_items ORDER BY id;
SELECT count(*), sum(price) FROM conf_items;
UPDATE conf_items SET price = 3.00 WHERE id = 3;
BEGIN;
DELETE FROM conf_items WHERE id = 1;
SELECT name FROM conf_items;
ROLLBACK;
SELEC 1;
SELECT * FROM conf_missing;
SELECT now(), pg_backend_pid(), 1 AS one;
DROP TABLE conf_items;
