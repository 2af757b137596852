"""The sharding scenario every MySQL DB-API driver runs through Shardwire.

The test harness (tests/mysql_drivers.rs) starts two MariaDB shards and
Shardwire, and passes where to connect in SW_HOST, SW_PORT, SW_USER,
SW_PASSWORD and SW_DATABASE. `run(connect, paramstyle_marker)` takes a
function returning a new DB-API connection with autocommit on.
"""

import os
import sys
from decimal import Decimal


def env():
    return dict(
        host=os.environ["SW_HOST"],
        port=int(os.environ["SW_PORT"]),
        user=os.environ["SW_USER"],
        password=os.environ["SW_PASSWORD"],
        database=os.environ["SW_DATABASE"],
    )


def check(got, want, what):
    if got != want:
        sys.exit(f"{what}: got {got!r}, want {want!r}")


def rows(cur, sql, params=()):
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


def run(connect, integrity_error, cursor=lambda c: c.cursor()):
    conn = connect()
    cur = cursor(conn)
    # DDL fans out to every shard.
    # Through a passthrough database (SW_DIRECT=1) no proxy generates keys,
    # so the database does.
    key = "AUTO_INCREMENT " if os.environ.get("SW_DIRECT") == "1" else ""
    cur.execute(
        f"CREATE TABLE t_order (order_id BIGINT NOT NULL {key}PRIMARY KEY, user_id INT NOT NULL, "
        "amount DECIMAL(10,2), status VARCHAR(20))"
    )
    cur.execute("CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20))")

    # A generated key comes back as lastrowid and is what was stored.
    cur.execute(
        "INSERT INTO t_order (user_id, amount, status) VALUES (%s, %s, %s)",
        (7, Decimal("1.50"), "gen"),
    )
    generated = cur.lastrowid
    if not generated:
        sys.exit("no generated key reported")
    check(rows(cur, "SELECT order_id FROM t_order WHERE user_id = %s", (7,)), [(generated,)], "generated key")

    # Rows over both shards and both tables of each.
    cur.executemany(
        "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (%s, %s, %s, %s)",
        [(100 + i, 1 + i, Decimal(f"{i + 1}.00"), "ab"[i % 2]) for i in range(4)],
    )
    cur.execute("INSERT INTO t_region (id, name) VALUES (%s, %s)", (1, "north"))

    # Point, scatter, aggregate selects.
    check(rows(cur, "SELECT status FROM t_order WHERE user_id = %s AND order_id = %s", (2, 101)), [("b",)], "point select")
    check(
        rows(cur, "SELECT order_id FROM t_order WHERE order_id BETWEEN %s AND %s ORDER BY order_id DESC", (100, 199)),
        [(103,), (102,), (101,), (100,)],
        "scatter select",
    )
    check(
        rows(cur, "SELECT COUNT(*), SUM(amount), MAX(order_id) FROM t_order WHERE order_id BETWEEN %s AND %s", (100, 199)),
        [(4, Decimal("10.00"), 103)],
        "aggregates",
    )
    check(
        rows(cur, "SELECT status, COUNT(*) FROM t_order WHERE order_id BETWEEN 100 AND 199 GROUP BY status ORDER BY status"),
        [("a", 2), ("b", 2)],
        "group by",
    )
    check(rows(cur, "SELECT name FROM t_region"), [("north",)], "broadcast table")

    # A transaction over both shards: rolled back, then committed.
    tx = connect(autocommit=False)
    txc = cursor(tx)
    txc.execute("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (%s, %s, 1, 'tx')", (200, 1))
    txc.execute("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (%s, %s, 1, 'tx')", (201, 2))
    tx.rollback()
    check(rows(cur, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), [(0,)], "after rollback")
    txc.execute("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (%s, %s, 1, 'tx')", (200, 1))
    txc.execute("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (%s, %s, 1, 'tx')", (201, 2))
    check(rows(cur, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), [(0,)], "before commit, seen from elsewhere")
    tx.commit()
    check(rows(cur, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), [(2,)], "after commit")
    tx.close()

    # An error, then the connection goes on.
    try:
        cur.execute("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (%s, %s, 1, 'dup')", (100, 1))
        sys.exit("a duplicate key was accepted")
    except integrity_error as e:
        # PyMySQL puts the error number first in args; mysql-connector in errno.
        check(getattr(e, "errno", None) or e.args[0], 1062, "duplicate key error number")
    check(rows(cur, "SELECT COUNT(*) FROM t_order WHERE order_id = %s", (100,)), [(1,)], "after the error")
    conn.close()
    print("scenario passed")
