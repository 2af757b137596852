"""The PyMySQL scenario: COM_QUERY with client-side parameters, autocommit
off, executemany (one multi-row INSERT), a transaction, an unknown table
(1146) and a duplicate key (1062), cleanup.

Connects with MYSQL_HOST / MYSQL_PORT / MYSQL_USER / MYSQL_PASSWORD /
MYSQL_DATABASE."""
import os

import pymysql

conn = pymysql.connect(
    host=os.environ["MYSQL_HOST"],
    port=int(os.environ["MYSQL_PORT"]),
    user=os.environ["MYSQL_USER"],
    password=os.environ["MYSQL_PASSWORD"],
    database=os.environ["MYSQL_DATABASE"],
)
with conn:
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE conf_py (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, qty INT)")
        cur.executemany(
            "INSERT INTO conf_py VALUES (%s, %s, %s)",
            [(1, "a", 10), (2, "b", None), (3, "c", 30)],
        )
        conn.commit()
        cur.execute("SELECT id, name, qty FROM conf_py WHERE qty > %s ORDER BY id", (5,))
        print(cur.fetchall())
        cur.execute("SELECT name FROM conf_py")
        print(sorted(cur.fetchall()))
        try:
            cur.execute("SELECT * FROM conf_missing")
        except pymysql.err.ProgrammingError as e:
            print("unknown table:", e.args[0])
        try:
            cur.execute("INSERT INTO conf_py VALUES (%s, %s, %s)", (1, "dup", 0))
        except pymysql.err.IntegrityError as e:
            print("duplicate:", e.args[0])
        conn.rollback()
        cur.execute("DROP TABLE conf_py")
    conn.commit()
