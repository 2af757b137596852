-- psql scenario: the simple query protocol, SQL-level PREPARE / EXECUTE
-- (psql 15 has no \bind), and a script that goes on after a failing
-- statement. run.sh sets :orders, :regions and :key_type and compares the
-- output with expected.out; every other error stops the script
-- (ON_ERROR_STOP). Steps and expected answers: ../README.md.
\set VERBOSITY sqlstate

\echo '[psql] connect'
SELECT 1;

\echo '[psql] create tables'
CREATE TABLE :"orders" (order_id :key_type PRIMARY KEY, user_id INT NOT NULL, status VARCHAR(32), amount NUMERIC(10,2));
CREATE TABLE :"regions" (id INT PRIMARY KEY, name TEXT);

\echo '[psql] broadcast table'
INSERT INTO :"regions" (id, name) VALUES (1, 'north'), (2, 'south');
\echo inserted :ROW_COUNT
SELECT name FROM :"regions" WHERE id = 2;
SELECT COUNT(*) FROM :"regions";

\echo '[psql] insert'
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES
  (1, 1, 'new', 10.00), (2, 1, 'paid', 20.00), (3, 2, 'new', 30.00),
  (4, 2, 'paid', 40.00), (5, 3, 'paid', 60.00), (6, 4, 'new', 50.00);
\echo inserted :ROW_COUNT

\echo '[psql] generated keys'
-- The keys differ between runs, so only facts about them are printed.
INSERT INTO :"orders" (user_id, status, amount) VALUES (5, 'new', 70.00) RETURNING order_id AS key_a \gset
INSERT INTO :"orders" (user_id, status, amount) VALUES (6, 'shipped', 80.00);
\echo inserted :ROW_COUNT
SELECT COUNT(*) AS user_6_orders, MIN(order_id) AS key_b FROM :"orders" WHERE user_id = 6 \gset
\echo user 6 orders :user_6_orders
SELECT :key_a > 0 AS a_positive, :key_b > 0 AS b_positive, :key_a <> :key_b AS distinct_keys;
SELECT order_id = :key_a AS user_5_has_key_a FROM :"orders" WHERE user_id = 5;

\echo '[psql] point select'
SELECT order_id, status, amount FROM :"orders" WHERE user_id = 2 ORDER BY order_id;
SELECT user_id, status, amount FROM :"orders" WHERE order_id = 5;

\echo '[psql] scatter ORDER BY / LIMIT / OFFSET'
SELECT order_id = :key_a AS is_key_a, amount FROM :"orders" ORDER BY amount DESC LIMIT 3 OFFSET 1;

\echo '[psql] aggregates'
SELECT COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) FROM :"orders";
SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount)
  FROM :"orders" GROUP BY status ORDER BY status;

\echo '[psql] prepared statements'
PREPARE point(int, bigint) AS SELECT user_id, status, amount FROM :"orders" WHERE user_id = $1 AND order_id = $2;
EXECUTE point(1, 2);
EXECUTE point(2, 3);
DEALLOCATE point;
PREPARE count_over(numeric) AS SELECT COUNT(*) FROM :"orders" WHERE amount > $1;
EXECUTE count_over(35);
EXECUTE count_over(65);
DEALLOCATE count_over;

\echo '[psql] transaction committed'
BEGIN;
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES (101, 7, 'tx', 1.00);
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES (102, 8, 'tx', 2.00);
COMMIT;
SELECT COUNT(*), SUM(amount) FROM :"orders" WHERE status = 'tx';

\echo '[psql] transaction rolled back'
BEGIN;
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES (103, 9, 'rb', 3.00);
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES (104, 10, 'rb', 4.00);
SELECT COUNT(*) FROM :"orders" WHERE status = 'rb';
ROLLBACK;
SELECT COUNT(*) FROM :"orders" WHERE status = 'rb';

\echo '[psql] statements with an error between them'
\set ON_ERROR_STOP 0
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES (201, 1, 'pipe', 1.00);
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES (1, 1, 'dup', 1.00);
\echo error :LAST_ERROR_SQLSTATE
INSERT INTO :"orders" (order_id, user_id, status, amount) VALUES (203, 1, 'pipe', 3.00);
\set ON_ERROR_STOP 1

\echo '[psql] recovery'
SELECT COUNT(*) FROM :"orders" WHERE status = 'pipe';
SELECT COUNT(*) FROM :"orders";
SELECT COUNT(*) FROM :"regions";

\echo '[psql] drop tables'
DROP TABLE :"orders";
DROP TABLE :"regions";
\echo '[psql] all steps passed'
