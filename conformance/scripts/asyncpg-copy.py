"""asyncpg: executemany (one Parse, many Bind/Execute, one Sync), COPY
FROM STDIN (copy_records_to_table, binary), COPY TO STDOUT
(copy_from_query), a prepared statement fetched with a row limit
(cursor-less fetch), then cleanup. Tables `orders` / `regions`.

Connects with libpq's PG* environment (asyncpg reads it)."""
import asyncio
import io
from decimal import Decimal

import asyncpg


async def main():
    conn = await asyncpg.connect()
    await conn.execute(
        "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, "
        "status VARCHAR(32), amount NUMERIC(10,2))"
    )
    await conn.execute("CREATE TABLE regions (id INT PRIMARY KEY, name TEXT)")
    await conn.executemany(
        "INSERT INTO orders VALUES ($1, $2, $3, $4)",
        [(i, i % 4 + 1, "new", Decimal(i)) for i in range(1, 9)],
    )
    await conn.copy_records_to_table(
        "orders",
        records=[(100 + i, i % 4 + 1, "copied", Decimal(i)) for i in range(8)],
    )
    await conn.copy_records_to_table("regions", records=[(1, "north"), (2, "south")])
    out = io.BytesIO()
    await conn.copy_from_query(
        "SELECT order_id, status FROM orders WHERE order_id > $1 ORDER BY order_id", 100, output=out
    )
    print(out.getvalue().decode())
    print(await conn.fetch("SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status"))
    try:
        # Order 1 belongs to user 2 (1 % 4 + 1): the same user, so the
        # duplicate meets it on the same shard when sharded.
        await conn.copy_records_to_table("orders", records=[(1, 2, "dup", Decimal(1))])
    except asyncpg.UniqueViolationError as e:
        print("duplicate in COPY:", e.sqlstate)
    await conn.execute("DROP TABLE orders")
    await conn.execute("DROP TABLE regions")
    await conn.close()


asyncio.run(main())
