"""psycopg 3: server-side prepared statements (prepare=True) and pipeline
mode. Steps and expected answers: ../README.md."""

from decimal import Decimal as D

import psycopg
from psycopg import errors

from scenario import BY_STATUS, DUPLICATE_KEY, TOTALS, Reporter, Settings

s = Settings()
r = Reporter("psycopg3")
orders, regions = s.orders, s.regions
insert_one = f"INSERT INTO {orders} (order_id, user_id, status, amount) VALUES (%s, %s, %s, %s)"

r.step("connect")
conn = psycopg.connect(
    host=s.host, port=s.port, user=s.user, password=s.password, dbname=s.database, autocommit=True
)
r.check("SELECT 1", conn.execute("SELECT 1").fetchone(), (1,))

r.step("create tables")
conn.execute(s.create_orders())
conn.execute(s.create_regions())

r.step("broadcast table")
cur = conn.execute(f"INSERT INTO {regions} (id, name) VALUES (1, 'north'), (2, 'south')")
r.check("rows inserted", cur.rowcount, 2)
r.check("region 2", conn.execute(f"SELECT name FROM {regions} WHERE id = %s", (2,)).fetchall(), [("south",)])
r.check("regions", conn.execute(f"SELECT COUNT(*) FROM {regions}").fetchone(), (2,))

r.step("insert")
r.check("rows inserted", conn.execute(s.insert_orders()).rowcount, 6)

r.step("generated keys")
(key_a,) = conn.execute(
    f"INSERT INTO {orders} (user_id, status, amount) VALUES (%s, %s, %s) RETURNING order_id",
    (5, "new", D("70.00")),
).fetchone()
r.check("RETURNING order_id is a positive integer", isinstance(key_a, int) and key_a > 0, True)
cur = conn.execute(f"INSERT INTO {orders} (user_id, status, amount) VALUES (6, 'shipped', 80.00)")
r.check("rows inserted", cur.rowcount, 1)
rows = conn.execute(f"SELECT order_id FROM {orders} WHERE user_id = 6").fetchall()
r.check("one order for user 6", len(rows), 1)
key_b = rows[0][0]
r.check("second key is positive and new", key_b > 0 and key_b != key_a, True)
r.check("user 5's order", conn.execute(f"SELECT order_id FROM {orders} WHERE user_id = 5").fetchall(), [(key_a,)])

r.step("point select")
r.check(
    "user 2",
    conn.execute(f"SELECT order_id, status, amount FROM {orders} WHERE user_id = 2 ORDER BY order_id").fetchall(),
    [(3, "new", D("30.00")), (4, "paid", D("40.00"))],
)
r.check(
    "order 5",
    conn.execute(f"SELECT user_id, status, amount FROM {orders} WHERE order_id = 5").fetchall(),
    [(3, "paid", D("60.00"))],
)

r.step("scatter ORDER BY / LIMIT / OFFSET")
r.check(
    "page",
    conn.execute(f"SELECT order_id, amount FROM {orders} ORDER BY amount DESC LIMIT 3 OFFSET 1").fetchall(),
    [(key_a, D("70.00")), (5, D("60.00")), (6, D("50.00"))],
)

r.step("aggregates")
r.check(
    "totals",
    conn.execute(f"SELECT COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) FROM {orders}").fetchone(),
    TOTALS,
)
r.check(
    "by status",
    conn.execute(
        f"SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) "
        f"FROM {orders} GROUP BY status ORDER BY status"
    ).fetchall(),
    BY_STATUS,
)

r.step("prepared statements")
point = f"SELECT user_id, status, amount FROM {orders} WHERE user_id = %s AND order_id = %s"
r.check("(1, 2)", conn.execute(point, (1, 2), prepare=True).fetchall(), [(1, "paid", D("20.00"))])
r.check("(2, 3)", conn.execute(point, (2, 3), prepare=True).fetchall(), [(2, "new", D("30.00"))])
count_over = f"SELECT COUNT(*) FROM {orders} WHERE amount > %s"
r.check("over 35", conn.execute(count_over, (D("35"),), prepare=True).fetchone(), (5,))
r.check("over 65", conn.execute(count_over, (D("65"),), prepare=True).fetchone(), (2,))

r.step("transaction committed")
with conn.transaction():
    conn.execute(insert_one, (101, 7, "tx", D("1.00")))
    conn.execute(insert_one, (102, 8, "tx", D("2.00")))
r.check(
    "committed rows",
    conn.execute(f"SELECT COUNT(*), SUM(amount) FROM {orders} WHERE status = 'tx'").fetchone(),
    (2, D("3.00")),
)

r.step("transaction rolled back")
count_rb = f"SELECT COUNT(*) FROM {orders} WHERE status = 'rb'"
with conn.transaction(force_rollback=True):
    conn.execute(insert_one, (103, 9, "rb", D("3.00")))
    conn.execute(insert_one, (104, 10, "rb", D("4.00")))
    r.check("rows seen inside", conn.execute(count_rb).fetchone(), (2,))
r.check("rows after rollback", conn.execute(count_rb).fetchone(), (0,))

r.step("pipeline with an error")
error = None
try:
    with conn.pipeline() as pipeline:
        conn.execute(insert_one, (201, 1, "pipe", D("1.00")))
        pipeline.sync()
        conn.execute(insert_one, (1, 1, "dup", D("1.00")))
        conn.execute(insert_one, (203, 1, "pipe", D("3.00")))
except errors.UniqueViolation as e:
    error = e.sqlstate
r.check("error", error, DUPLICATE_KEY)

r.step("recovery")
# 201 was committed at its Sync; 203 was discarded with the failed segment.
r.check("pipe rows", conn.execute(f"SELECT COUNT(*) FROM {orders} WHERE status = 'pipe'").fetchone(), (1,))
r.check("orders", conn.execute(f"SELECT COUNT(*) FROM {orders}").fetchone(), (11,))
r.check("regions", conn.execute(f"SELECT COUNT(*) FROM {regions}").fetchone(), (2,))

r.step("drop tables")
conn.execute(f"DROP TABLE {orders}")
conn.execute(f"DROP TABLE {regions}")
conn.close()
r.done()
