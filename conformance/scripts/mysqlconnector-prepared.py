"""The MySQL Connector/Python scenario with server-side prepared statements
(cursor(prepared=True)): COM_STMT_PREPARE / EXECUTE / CLOSE, a statement
executed twice, NULL parameters, an unknown table (1146), cleanup. Its
statement ids are what replay remaps.

Connects with MYSQL_HOST / MYSQL_PORT / MYSQL_USER / MYSQL_PASSWORD /
MYSQL_DATABASE."""
import os

import mysql.connector

conn = mysql.connector.connect(
    host=os.environ["MYSQL_HOST"],
    port=int(os.environ["MYSQL_PORT"]),
    user=os.environ["MYSQL_USER"],
    password=os.environ["MYSQL_PASSWORD"],
    database=os.environ["MYSQL_DATABASE"],
    ssl_disabled=True,
    use_pure=True,
)
cur = conn.cursor(prepared=True)
cur.execute("CREATE TABLE conf_ps (id INT PRIMARY KEY, name VARCHAR(10), qty INT)")
cur.execute("INSERT INTO conf_ps VALUES (%s, %s, %s)", (1, "a", 10))
cur.execute("INSERT INTO conf_ps VALUES (%s, %s, %s)", (2, "b", None))
conn.commit()
cur.execute("SELECT id, name, qty FROM conf_ps WHERE id >= %s ORDER BY id", (1,))
print(cur.fetchall())
cur.execute("SELECT name FROM conf_ps WHERE id = %s", (2,))
print(cur.fetchall())
try:
    cur.execute("SELECT * FROM conf_missing WHERE id = %s", (1,))
except mysql.connector.Error as e:
    print("unknown table:", e.errno)
cur.execute("DROP TABLE conf_ps")
cur.close()
conn.close()
