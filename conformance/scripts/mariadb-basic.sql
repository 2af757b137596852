-- The mariadb CLI scenario: DDL, DML with AUTO_INCREMENT, a transaction
-- rolled back, rows with NULL, a syntax error, an unknown table,
-- server-generated values, cleanup. It leaves the database as it found it.
CREATE TABLE conf_items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20) NOT NULL, price DECIMAL(10,2));
INSERT INTO conf_items (name, price) VALUES ('apple', 1.50), ('pear', 2.25), ('plum', NULL);
SELECT id, name, price FROM conf_items ORDER BY id;
SELECT COUNT(*), SUM(price) FROM conf_items;
UPDATE conf_items SET price = 3.00 WHERE id = 3;
START TRANSACTION;
DELETE FROM conf_items WHERE id = 1;
SELECT name FROM conf_items;
ROLLBACK;
SELEC 1;
SELECT * FROM conf_missing;
SELECT NOW(), CONNECTION_ID(), 1 AS one;
DROP TABLE conf_items;
