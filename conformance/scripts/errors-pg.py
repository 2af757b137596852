"""Error paths on PostgreSQL with psycopg 3: syntax error (42601),
unknown table (42P01), unknown column (42703), unique violation (23505),
NOT NULL violation (23502), division by zero (22012) inside a
transaction then 25P02 until ROLLBACK, and a lock wait timeout (55P03):
session A holds a row lock, session B with lock_timeout = 200ms fails to
update it, A commits. Tables `orders` / `regions`.

Connects with libpq's PG* environment."""
import psycopg

a = psycopg.connect(autocommit=True)
a.execute(
    "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, "
    "status VARCHAR(32), amount NUMERIC(10,2))"
)
a.execute("INSERT INTO orders VALUES (1, 1, 'new', 10), (2, 2, 'new', 20)")
for sql, params in [
    ("SELEC order_id FROM orders", None),
    ("SELECT * FROM orders_missing", None),
    ("SELECT no_such_column FROM orders", None),
    ("INSERT INTO orders VALUES (%s, %s, %s, %s)", (1, 1, "dup", 1)),
    ("INSERT INTO orders (order_id, user_id) VALUES (%s, %s)", (3, None)),
]:
    try:
        a.execute(sql, params)
    except psycopg.Error as e:
        print(e.sqlstate, type(e).__name__)
with a.cursor() as cur:
    cur.execute("BEGIN")
    cur.execute("UPDATE orders SET amount = 11 WHERE order_id = 1")
    try:
        cur.execute("SELECT amount / 0 FROM orders WHERE order_id = 1")
    except psycopg.Error as e:
        print(e.sqlstate)
    try:
        cur.execute("SELECT 1")
    except psycopg.Error as e:
        print(e.sqlstate)
    cur.execute("ROLLBACK")
b = psycopg.connect(autocommit=True)
a.execute("BEGIN")
a.execute("UPDATE orders SET status = 'locked' WHERE order_id = 2")
b.execute("SET lock_timeout = '200ms'")
try:
    b.execute("UPDATE orders SET status = 'waited' WHERE order_id = 2")
except psycopg.Error as e:
    print("lock wait:", e.sqlstate)
a.execute("COMMIT")
print(b.execute("SELECT status FROM orders WHERE order_id = 2").fetchall())
b.close()
a.execute("DROP TABLE orders")
a.close()
