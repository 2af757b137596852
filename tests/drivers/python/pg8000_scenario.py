"""pg8000 (native API): named :parameters, conn.prepare() for server-side
prepared statements, and statements run one after another in autocommit
when one of them fails. Steps and expected answers: ../README.md."""

from decimal import Decimal as D

import pg8000.native

from scenario import BY_STATUS, DUPLICATE_KEY, TOTALS, Reporter, Settings

s = Settings()
r = Reporter("pg8000")
orders, regions = s.orders, s.regions
insert_one = f"INSERT INTO {orders} (order_id, user_id, status, amount) VALUES (:id, :user, :status, :amount)"


def rows(result):
    return [tuple(row) for row in result]


r.step("connect")
conn = pg8000.native.Connection(
    s.user, host=s.host, port=s.port, password=s.password, database=s.database
)
r.check("SELECT 1", rows(conn.run("SELECT 1")), [(1,)])

r.step("create tables")
conn.run(s.create_orders())
conn.run(s.create_regions())

r.step("broadcast table")
conn.run(f"INSERT INTO {regions} (id, name) VALUES (1, 'north'), (2, 'south')")
r.check("rows inserted", conn.row_count, 2)
r.check("region 2", rows(conn.run(f"SELECT name FROM {regions} WHERE id = :id", id=2)), [("south",)])
r.check("regions", rows(conn.run(f"SELECT COUNT(*) FROM {regions}")), [(2,)])

r.step("insert")
conn.run(s.insert_orders())
r.check("rows inserted", conn.row_count, 6)

r.step("generated keys")
found = rows(
    conn.run(
        f"INSERT INTO {orders} (user_id, status, amount) VALUES (:user, :status, :amount) RETURNING order_id",
        user=5,
        status="new",
        amount=D("70.00"),
    )
)
r.check("one key returned", len(found), 1)
key_a = found[0][0]
r.check("RETURNING order_id is a positive integer", isinstance(key_a, int) and key_a > 0, True)
conn.run(f"INSERT INTO {orders} (user_id, status, amount) VALUES (6, 'shipped', 80.00)")
r.check("rows inserted", conn.row_count, 1)
found = rows(conn.run(f"SELECT order_id FROM {orders} WHERE user_id = 6"))
r.check("one order for user 6", len(found), 1)
key_b = found[0][0]
r.check("second key is positive and new", key_b > 0 and key_b != key_a, True)
r.check("user 5's order", rows(conn.run(f"SELECT order_id FROM {orders} WHERE user_id = 5")), [(key_a,)])

r.step("point select")
r.check(
    "user 2",
    rows(conn.run(f"SELECT order_id, status, amount FROM {orders} WHERE user_id = 2 ORDER BY order_id")),
    [(3, "new", D("30.00")), (4, "paid", D("40.00"))],
)
r.check(
    "order 5",
    rows(conn.run(f"SELECT user_id, status, amount FROM {orders} WHERE order_id = 5")),
    [(3, "paid", D("60.00"))],
)

r.step("scatter ORDER BY / LIMIT / OFFSET")
r.check(
    "page",
    rows(conn.run(f"SELECT order_id, amount FROM {orders} ORDER BY amount DESC LIMIT 3 OFFSET 1")),
    [(key_a, D("70.00")), (5, D("60.00")), (6, D("50.00"))],
)

r.step("aggregates")
r.check(
    "totals",
    rows(conn.run(f"SELECT COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) FROM {orders}")),
    [TOTALS],
)
r.check(
    "by status",
    rows(
        conn.run(
            f"SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) "
            f"FROM {orders} GROUP BY status ORDER BY status"
        )
    ),
    BY_STATUS,
)

r.step("prepared statements")
point = conn.prepare(f"SELECT user_id, status, amount FROM {orders} WHERE user_id = :user AND order_id = :id")
r.check("(1, 2)", rows(point.run(user=1, id=2)), [(1, "paid", D("20.00"))])
r.check("(2, 3)", rows(point.run(user=2, id=3)), [(2, "new", D("30.00"))])
point.close()
count_over = conn.prepare(f"SELECT COUNT(*) FROM {orders} WHERE amount > :amount")
r.check("over 35", rows(count_over.run(amount=D("35"))), [(5,)])
r.check("over 65", rows(count_over.run(amount=D("65"))), [(2,)])
count_over.close()

r.step("transaction committed")
conn.run("BEGIN")
conn.run(insert_one, id=101, user=7, status="tx", amount=D("1.00"))
conn.run(insert_one, id=102, user=8, status="tx", amount=D("2.00"))
conn.run("COMMIT")
r.check(
    "committed rows",
    rows(conn.run(f"SELECT COUNT(*), SUM(amount) FROM {orders} WHERE status = 'tx'")),
    [(2, D("3.00"))],
)

r.step("transaction rolled back")
count_rb = f"SELECT COUNT(*) FROM {orders} WHERE status = 'rb'"
conn.run("BEGIN")
conn.run(insert_one, id=103, user=9, status="rb", amount=D("3.00"))
conn.run(insert_one, id=104, user=10, status="rb", amount=D("4.00"))
r.check("rows seen inside", rows(conn.run(count_rb)), [(2,)])
conn.run("ROLLBACK")
r.check("rows after rollback", rows(conn.run(count_rb)), [(0,)])

r.step("statements with an error between them")
errors = []
for params in [(201, "pipe", "1.00"), (1, "dup", "1.00"), (203, "pipe", "3.00")]:
    order_id, status, amount = params
    try:
        conn.run(insert_one, id=order_id, user=1, status=status, amount=D(amount))
    except pg8000.native.DatabaseError as e:
        errors.append(e.args[0].get("C"))
r.check("errors", errors, [DUPLICATE_KEY])

r.step("recovery")
r.check("pipe rows", rows(conn.run(f"SELECT COUNT(*) FROM {orders} WHERE status = 'pipe'")), [(2,)])
r.check("orders", rows(conn.run(f"SELECT COUNT(*) FROM {orders}")), [(12,)])
r.check("regions", rows(conn.run(f"SELECT COUNT(*) FROM {regions}")), [(2,)])

r.step("drop tables")
conn.run(f"DROP TABLE {orders}")
conn.run(f"DROP TABLE {regions}")
conn.close()
r.done()
