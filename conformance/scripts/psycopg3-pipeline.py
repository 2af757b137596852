"""psycopg 3 pipeline mode: many statements sent before any answer is
read (Parse/Bind/Execute batches with Sync only where psycopg puts them),
executemany (pipelined), RETURNING in a pipeline, an error inside a
pipeline (23505: the rest of the batch is skipped until Sync), then the
connection goes on. Tables `orders` / `regions` as the driver scenarios.

Connects with libpq's PG* environment."""
import psycopg

with psycopg.connect(autocommit=True) as conn:
    conn.execute(
        "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, "
        "status VARCHAR(32), amount NUMERIC(10,2))"
    )
    conn.execute("CREATE TABLE regions (id INT PRIMARY KEY, name TEXT)")
    with conn.pipeline():
        conn.execute("INSERT INTO regions VALUES (%s, %s)", (1, "north"))
        for i in range(1, 7):
            conn.execute(
                "INSERT INTO orders VALUES (%s, %s, %s, %s)",
                (i, i % 3 + 1, "new" if i % 2 else "paid", i * 10),
            )
        c1 = conn.execute("SELECT order_id, status FROM orders WHERE user_id = %s ORDER BY order_id", (2,))
        c2 = conn.execute("SELECT COUNT(*), SUM(amount) FROM orders")
    print(c1.fetchall(), c2.fetchone())
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s, %s)",
            [(i, i % 3 + 1, "bulk", i) for i in range(10, 16)],
        )
        cur.executemany(
            "UPDATE orders SET amount = amount + %s WHERE order_id = %s RETURNING amount",
            [(1, 10), (2, 11)],
            returning=True,
        )
    try:
        with conn.pipeline():
            conn.execute("INSERT INTO orders VALUES (%s, %s, %s, %s)", (20, 1, "x", 1))
            conn.execute("INSERT INTO orders VALUES (%s, %s, %s, %s)", (1, 2, "dup", 1))
            conn.execute("INSERT INTO orders VALUES (%s, %s, %s, %s)", (21, 2, "skipped", 1))
    except psycopg.errors.UniqueViolation as e:
        print("duplicate in pipeline:", e.sqlstate)
    print(conn.execute("SELECT order_id FROM orders WHERE order_id >= 20 ORDER BY order_id").fetchall())
    conn.execute("DROP TABLE orders")
    conn.execute("DROP TABLE regions")
