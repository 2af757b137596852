"""The psycopg 3 scenario: extended protocol (Parse/Bind/Execute/Sync),
executemany, a server-side prepared statement reused, a transaction, an
unknown table (42P01) and a constraint violation (23505), cleanup.

Connects with PGHOST / PGPORT / PGUSER / PGPASSWORD / PGDATABASE."""
import psycopg

with psycopg.connect() as conn:
    cur = conn.cursor()
    cur.execute("CREATE TABLE conf_py (id int PRIMARY KEY, name text NOT NULL, qty int)")
    cur.executemany(
        "INSERT INTO conf_py VALUES (%s, %s, %s)",
        [(1, "a", 10), (2, "b", None), (3, "c", 30)],
    )
    conn.commit()
    cur.execute("SELECT id, name, qty FROM conf_py WHERE qty > %s ORDER BY id", (5,))
    print(cur.fetchall())
    for i in (1, 2, 3):
        cur.execute("SELECT name, qty FROM conf_py WHERE id = %s", (i,), prepare=True)
        print(cur.fetchone())
    cur.execute("SELECT name FROM conf_py")
    print(sorted(cur.fetchall()))
    try:
        cur.execute("SELECT * FROM conf_missing")
    except psycopg.errors.UndefinedTable as e:
        print("unknown table:", e.sqlstate)
        conn.rollback()
    try:
        cur.execute("INSERT INTO conf_py VALUES (%s, %s, %s)", (1, "dup", 0))
    except psycopg.errors.UniqueViolation as e:
        print("duplicate:", e.sqlstate)
        conn.rollback()
    cur.execute("DROP TABLE conf_py")
    conn.commit()
