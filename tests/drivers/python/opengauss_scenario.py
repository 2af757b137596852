"""py-opengauss through an openGauss listener (tests/opengauss_py.rs).

Prints one line per answer, so that the run over the sharded database and
the run over one plain PostgreSQL (a passthrough database) can be compared
line by line; exits non-zero on an error the scenario did not expect.

Settings: SW_HOST, SW_PORT, SW_USER, SW_PASSWORD, SW_DATABASE; SW_MODE is
`scenario` (default) or `login` (connect once and print `login ok` or
`login failed <SQLSTATE>`); SW_EXPECT_OPENGAUSS=1 also checks that
version() names openGauss (it does not on a passthrough database, whose
answers are the backend's own, so it is not part of the compared output);
SW_KEEP=1 leaves t_order for the test to look at on the shards.
"""

import os
import sys
from decimal import Decimal

import py_opengauss
from py_opengauss import exceptions


def connect():
    env = os.environ
    url = "opengauss://{}:{}@{}:{}/{}".format(
        env["SW_USER"], env["SW_PASSWORD"], env["SW_HOST"], env["SW_PORT"], env["SW_DATABASE"]
    )
    return py_opengauss.open(url)


def sqlstate(error):
    """The SQLSTATE of an error; for a failed connect, the server's error
    behind py-opengauss's own 08001 "could not connect"."""
    seen = set()
    stack = [error]
    codes = []
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        code = getattr(e, "code", None)
        if isinstance(code, str) and len(code) == 5 and not code.startswith("--"):
            codes.append(code)
        stack.append(getattr(e, "__cause__", None))
        stack.append(getattr(e, "__context__", None))
        for failure in getattr(getattr(e, "creator", None), "failures", ()) or ():
            stack.append(getattr(failure, "error", None))
    server = [c for c in codes if c != "08001"]
    return (server or codes or ["unknown"])[0]


def show(step, value):
    print(f"{step}: {value!r}", flush=True)


def rows(result):
    return [tuple(r) for r in result]


def login():
    try:
        db = connect()
    except Exception as e:  # the failure is the answer
        print(f"login failed {sqlstate(e)}", flush=True)
        return
    show("login ok", db.prepare("SELECT 1").first())
    db.close()


def scenario():
    db = connect()
    show("connect", db.prepare("SELECT 1").first())
    if os.environ.get("SW_EXPECT_OPENGAUSS") == "1":
        version = db.prepare("SELECT version()").first()
        if not version.startswith("(openGauss"):
            sys.exit(f"version() does not name openGauss: {version!r}")
        # The driver's own connect query read it too.
        if db.type != "(openGauss":
            sys.exit(f"py-opengauss took the server for {db.type!r}")

    db.execute(
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, "
        "status VARCHAR(32), amount NUMERIC(10,2))"
    )
    db.execute("CREATE TABLE t_region (id INT PRIMARY KEY, name TEXT)")

    insert = db.prepare(
        "INSERT INTO t_order (order_id, user_id, status, amount) VALUES ($1, $2, $3, $4)"
    )
    orders = [
        (1, 1, "new", Decimal("10.00")),
        (2, 1, "paid", Decimal("20.00")),
        (3, 2, "new", Decimal("30.00")),
        (4, 2, "paid", Decimal("40.00")),
    ]
    for order in orders:
        insert(*order)
    # Several rows in one pipeline.
    insert.load_rows([(5, 3, "paid", Decimal("60.00")), (6, 4, "new", Decimal("50.00"))])
    db.prepare("INSERT INTO t_region (id, name) VALUES ($1, $2)").load_rows(
        [(1, "north"), (2, "south")]
    )

    by_user = db.prepare(
        "SELECT order_id, status, amount FROM t_order WHERE user_id = $1 ORDER BY order_id"
    )
    show("point user 2", rows(by_user(2)))
    show(
        "point order 5",
        rows(db.prepare("SELECT user_id, status FROM t_order WHERE order_id = $1")(5)),
    )
    show(
        "scatter",
        rows(db.prepare("SELECT order_id, amount FROM t_order ORDER BY amount DESC LIMIT 3 OFFSET 1")()),
    )
    show(
        "aggregate",
        rows(db.prepare("SELECT COUNT(*), SUM(amount), MIN(amount), MAX(amount) FROM t_order")()),
    )
    show(
        "group by",
        rows(
            db.prepare(
                "SELECT status, COUNT(*), SUM(amount) FROM t_order GROUP BY status ORDER BY status"
            )()
        ),
    )
    show("broadcast", db.prepare("SELECT name FROM t_region WHERE id = $1").first(2))

    with db.xact():
        insert(101, 7, "tx", Decimal("1.00"))
        insert(102, 8, "tx", Decimal("2.00"))
    count_status = db.prepare("SELECT COUNT(*), SUM(amount) FROM t_order WHERE status = $1")
    show("commit", rows(count_status("tx")))

    x = db.xact()
    x.start()
    insert(103, 9, "rb", Decimal("3.00"))
    insert(104, 10, "rb", Decimal("4.00"))
    show("inside", rows(count_status("rb")))
    x.rollback()
    show("rollback", rows(count_status("rb")))

    try:
        insert(1, 1, "dup", Decimal("0.00"))
        sys.exit("a duplicate order_id was accepted")
    except exceptions.Error as e:
        show("duplicate", sqlstate(e))
    try:
        db.prepare("SELECT * FROM t_missing")
        sys.exit("a missing table was accepted")
    except exceptions.Error as e:
        show("missing table", sqlstate(e))
    show("recovery", rows(db.prepare("SELECT COUNT(*) FROM t_order")()))

    # The broadcast table's copy on shard 0 would clash with the plain run
    # there; the orders stay for the test to count when asked.
    db.execute("DROP TABLE t_region")
    if os.environ.get("SW_KEEP") != "1":
        db.execute("DROP TABLE t_order")
    db.close()
    show("done", True)


if __name__ == "__main__":
    if os.environ.get("SW_MODE", "scenario") == "login":
        login()
    else:
        scenario()
