"""psycopg2: client-side parameters (%s), transactions through the
connection's own BEGIN, and a failing statement inside a transaction. It
has no server-side prepare, so 'prepared statements' are its parameterised
execute. Steps and expected answers: ../README.md."""

from decimal import Decimal as D

import psycopg2
import psycopg2.errors

from scenario import BY_STATUS, DUPLICATE_KEY, IN_FAILED_TRANSACTION, TOTALS, Reporter, Settings

s = Settings()
r = Reporter("psycopg2")
orders, regions = s.orders, s.regions
insert_one = f"INSERT INTO {orders} (order_id, user_id, status, amount) VALUES (%s, %s, %s, %s)"

r.step("connect")
conn = psycopg2.connect(host=s.host, port=s.port, user=s.user, password=s.password, dbname=s.database)
conn.autocommit = True
cur = conn.cursor()


def query(sql, params=None):
    cur.execute(sql, params)
    return cur.fetchall()


r.check("SELECT 1", query("SELECT 1"), [(1,)])

r.step("create tables")
cur.execute(s.create_orders())
cur.execute(s.create_regions())

r.step("broadcast table")
cur.execute(f"INSERT INTO {regions} (id, name) VALUES (1, 'north'), (2, 'south')")
r.check("rows inserted", cur.rowcount, 2)
r.check("region 2", query(f"SELECT name FROM {regions} WHERE id = %s", (2,)), [("south",)])
r.check("regions", query(f"SELECT COUNT(*) FROM {regions}"), [(2,)])

r.step("insert")
cur.execute(s.insert_orders())
r.check("rows inserted", cur.rowcount, 6)

r.step("generated keys")
rows = query(
    f"INSERT INTO {orders} (user_id, status, amount) VALUES (%s, %s, %s) RETURNING order_id",
    (5, "new", D("70.00")),
)
r.check("one key returned", len(rows), 1)
key_a = rows[0][0]
r.check("RETURNING order_id is a positive integer", isinstance(key_a, int) and key_a > 0, True)
cur.execute(f"INSERT INTO {orders} (user_id, status, amount) VALUES (6, 'shipped', 80.00)")
r.check("rows inserted", cur.rowcount, 1)
rows = query(f"SELECT order_id FROM {orders} WHERE user_id = 6")
r.check("one order for user 6", len(rows), 1)
key_b = rows[0][0]
r.check("second key is positive and new", key_b > 0 and key_b != key_a, True)
r.check("user 5's order", query(f"SELECT order_id FROM {orders} WHERE user_id = 5"), [(key_a,)])

r.step("point select")
r.check(
    "user 2",
    query(f"SELECT order_id, status, amount FROM {orders} WHERE user_id = 2 ORDER BY order_id"),
    [(3, "new", D("30.00")), (4, "paid", D("40.00"))],
)
r.check(
    "order 5",
    query(f"SELECT user_id, status, amount FROM {orders} WHERE order_id = 5"),
    [(3, "paid", D("60.00"))],
)

r.step("scatter ORDER BY / LIMIT / OFFSET")
r.check(
    "page",
    query(f"SELECT order_id, amount FROM {orders} ORDER BY amount DESC LIMIT 3 OFFSET 1"),
    [(key_a, D("70.00")), (5, D("60.00")), (6, D("50.00"))],
)

r.step("aggregates")
r.check(
    "totals",
    query(f"SELECT COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) FROM {orders}"),
    [TOTALS],
)
r.check(
    "by status",
    query(
        f"SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) "
        f"FROM {orders} GROUP BY status ORDER BY status"
    ),
    BY_STATUS,
)

r.step("parameterised statements")
point = f"SELECT user_id, status, amount FROM {orders} WHERE user_id = %s AND order_id = %s"
r.check("(1, 2)", query(point, (1, 2)), [(1, "paid", D("20.00"))])
r.check("(2, 3)", query(point, (2, 3)), [(2, "new", D("30.00"))])
count_over = f"SELECT COUNT(*) FROM {orders} WHERE amount > %s"
r.check("over 35", query(count_over, (D("35"),)), [(5,)])
r.check("over 65", query(count_over, (D("65"),)), [(2,)])

# From here on psycopg2's default: the first statement opens a transaction.
conn.autocommit = False

r.step("transaction committed")
cur.execute(insert_one, (101, 7, "tx", D("1.00")))
cur.execute(insert_one, (102, 8, "tx", D("2.00")))
conn.commit()
r.check("committed rows", query(f"SELECT COUNT(*), SUM(amount) FROM {orders} WHERE status = 'tx'"), [(2, D("3.00"))])
conn.commit()

r.step("transaction rolled back")
count_rb = f"SELECT COUNT(*) FROM {orders} WHERE status = 'rb'"
cur.execute(insert_one, (103, 9, "rb", D("3.00")))
cur.execute(insert_one, (104, 10, "rb", D("4.00")))
r.check("rows seen inside", query(count_rb), [(2,)])
conn.rollback()
r.check("rows after rollback", query(count_rb), [(0,)])
conn.commit()

r.step("error inside a transaction")
cur.execute(insert_one, (201, 1, "pipe", D("1.00")))
errors = []
for params in [(1, 1, "dup", D("1.00")), (203, 1, "pipe", D("3.00"))]:
    try:
        cur.execute(insert_one, params)
    except psycopg2.Error as e:
        errors.append(e.pgcode)
r.check("errors", errors, [DUPLICATE_KEY, IN_FAILED_TRANSACTION])
conn.rollback()

r.step("recovery")
r.check("pipe rows", query(f"SELECT COUNT(*) FROM {orders} WHERE status = 'pipe'"), [(0,)])
r.check("orders", query(f"SELECT COUNT(*) FROM {orders}"), [(10,)])
r.check("regions", query(f"SELECT COUNT(*) FROM {regions}"), [(2,)])
conn.commit()

r.step("drop tables")
conn.autocommit = True
cur.execute(f"DROP TABLE {orders}")
cur.execute(f"DROP TABLE {regions}")
conn.close()
r.done()
