"""asyncpg: everything goes through server-side prepared statements with
binary results; executemany pipelines one Bind/Execute per row before a
single Sync. Steps and expected answers: ../README.md."""

import asyncio
from decimal import Decimal as D

import asyncpg

from scenario import BY_STATUS, DUPLICATE_KEY, TOTALS, Reporter, Settings

s = Settings()
r = Reporter("asyncpg")
orders, regions = s.orders, s.regions
insert_one = f"INSERT INTO {orders} (order_id, user_id, status, amount) VALUES ($1, $2, $3, $4)"


def rows(records):
    return [tuple(rec) for rec in records]


async def main():
    r.step("connect")
    conn = await asyncpg.connect(
        host=s.host, port=s.port, user=s.user, password=s.password, database=s.database
    )
    r.check("SELECT 1", await conn.fetchval("SELECT 1"), 1)

    r.step("create tables")
    await conn.execute(s.create_orders())
    await conn.execute(s.create_regions())

    r.step("broadcast table")
    r.check(
        "status",
        await conn.execute(f"INSERT INTO {regions} (id, name) VALUES (1, 'north'), (2, 'south')"),
        "INSERT 0 2",
    )
    r.check("region 2", rows(await conn.fetch(f"SELECT name FROM {regions} WHERE id = $1", 2)), [("south",)])
    r.check("regions", await conn.fetchval(f"SELECT COUNT(*) FROM {regions}"), 2)

    r.step("insert")
    r.check("status", await conn.execute(s.insert_orders()), "INSERT 0 6")

    r.step("generated keys")
    key_a = await conn.fetchval(
        f"INSERT INTO {orders} (user_id, status, amount) VALUES ($1, $2, $3) RETURNING order_id",
        5,
        "new",
        D("70.00"),
    )
    r.check("RETURNING order_id is a positive integer", isinstance(key_a, int) and key_a > 0, True)
    r.check(
        "status",
        await conn.execute(f"INSERT INTO {orders} (user_id, status, amount) VALUES (6, 'shipped', 80.00)"),
        "INSERT 0 1",
    )
    found = await conn.fetch(f"SELECT order_id FROM {orders} WHERE user_id = 6")
    r.check("one order for user 6", len(found), 1)
    key_b = found[0][0]
    r.check("second key is positive and new", key_b > 0 and key_b != key_a, True)
    r.check("user 5's order", rows(await conn.fetch(f"SELECT order_id FROM {orders} WHERE user_id = 5")), [(key_a,)])

    r.step("point select")
    r.check(
        "user 2",
        rows(await conn.fetch(f"SELECT order_id, status, amount FROM {orders} WHERE user_id = 2 ORDER BY order_id")),
        [(3, "new", D("30.00")), (4, "paid", D("40.00"))],
    )
    r.check(
        "order 5",
        rows(await conn.fetch(f"SELECT user_id, status, amount FROM {orders} WHERE order_id = 5")),
        [(3, "paid", D("60.00"))],
    )

    r.step("scatter ORDER BY / LIMIT / OFFSET")
    r.check(
        "page",
        rows(await conn.fetch(f"SELECT order_id, amount FROM {orders} ORDER BY amount DESC LIMIT 3 OFFSET 1")),
        [(key_a, D("70.00")), (5, D("60.00")), (6, D("50.00"))],
    )

    r.step("aggregates")
    r.check(
        "totals",
        tuple(await conn.fetchrow(f"SELECT COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) FROM {orders}")),
        TOTALS,
    )
    r.check(
        "by status",
        rows(
            await conn.fetch(
                f"SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) "
                f"FROM {orders} GROUP BY status ORDER BY status"
            )
        ),
        BY_STATUS,
    )

    r.step("prepared statements")
    point = await conn.prepare(f"SELECT user_id, status, amount FROM {orders} WHERE user_id = $1 AND order_id = $2")
    r.check("(1, 2)", rows(await point.fetch(1, 2)), [(1, "paid", D("20.00"))])
    r.check("(2, 3)", rows(await point.fetch(2, 3)), [(2, "new", D("30.00"))])
    count_over = await conn.prepare(f"SELECT COUNT(*) FROM {orders} WHERE amount > $1")
    r.check("over 35", await count_over.fetchval(D("35")), 5)
    r.check("over 65", await count_over.fetchval(D("65")), 2)

    r.step("transaction committed")
    async with conn.transaction():
        await conn.execute(insert_one, 101, 7, "tx", D("1.00"))
        await conn.execute(insert_one, 102, 8, "tx", D("2.00"))
    r.check(
        "committed rows",
        tuple(await conn.fetchrow(f"SELECT COUNT(*), SUM(amount) FROM {orders} WHERE status = 'tx'")),
        (2, D("3.00")),
    )

    r.step("transaction rolled back")
    count_rb = f"SELECT COUNT(*) FROM {orders} WHERE status = 'rb'"
    tx = conn.transaction()
    await tx.start()
    await conn.execute(insert_one, 103, 9, "rb", D("3.00"))
    await conn.execute(insert_one, 104, 10, "rb", D("4.00"))
    r.check("rows seen inside", await conn.fetchval(count_rb), 2)
    await tx.rollback()
    r.check("rows after rollback", await conn.fetchval(count_rb), 0)

    r.step("pipeline with an error (executemany)")
    error = None
    try:
        await conn.executemany(
            insert_one,
            [(201, 1, "pipe", D("1.00")), (1, 1, "dup", D("1.00")), (203, 1, "pipe", D("3.00"))],
        )
    except asyncpg.PostgresError as e:
        error = e.sqlstate
    r.check("error", error, DUPLICATE_KEY)

    r.step("recovery")
    # executemany is atomic: the row before the error went too.
    r.check("pipe rows", await conn.fetchval(f"SELECT COUNT(*) FROM {orders} WHERE status = 'pipe'"), 0)
    r.check("orders", await conn.fetchval(f"SELECT COUNT(*) FROM {orders}"), 10)
    r.check("regions", await conn.fetchval(f"SELECT COUNT(*) FROM {regions}"), 2)

    r.step("drop tables")
    await conn.execute(f"DROP TABLE {orders}")
    await conn.execute(f"DROP TABLE {regions}")
    await conn.close()
    r.done()


asyncio.run(main())
