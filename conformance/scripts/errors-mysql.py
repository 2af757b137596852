"""Error paths on MariaDB with PyMySQL: syntax error (1064), unknown
table (1146), unknown column (1054), duplicate key (1062), NOT NULL
(1048), and a lock wait timeout (1205): session A holds a row lock,
session B with innodb_lock_wait_timeout = 1 fails to update it, A
commits. Tables `t_order`.

Connects with MYSQL_HOST / MYSQL_PORT / MYSQL_USER / MYSQL_PASSWORD /
MYSQL_DATABASE."""
import os

import pymysql


def connect():
    return pymysql.connect(
        host=os.environ["MYSQL_HOST"],
        port=int(os.environ["MYSQL_PORT"]),
        user=os.environ["MYSQL_USER"],
        password=os.environ["MYSQL_PASSWORD"],
        database=os.environ["MYSQL_DATABASE"],
        autocommit=True,
    )


a = connect()
ca = a.cursor()
ca.execute(
    "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, "
    "amount DECIMAL(10,2), status VARCHAR(20))"
)
ca.execute("INSERT INTO t_order VALUES (1, 1, 10, 'new'), (2, 2, 20, 'new')")
for sql, params in [
    ("SELEC order_id FROM t_order", None),
    ("SELECT * FROM t_order_missing", None),
    ("SELECT no_such_column FROM t_order", None),
    ("INSERT INTO t_order VALUES (%s, %s, %s, %s)", (1, 1, 1, "dup")),
    ("INSERT INTO t_order (order_id, user_id) VALUES (%s, %s)", (3, None)),
]:
    try:
        ca.execute(sql, params)
    except pymysql.Error as e:
        print(e.args[0])
b = connect()
cb = b.cursor()
ca.execute("BEGIN")
ca.execute("UPDATE t_order SET status = 'locked' WHERE order_id = 2")
cb.execute("SET SESSION innodb_lock_wait_timeout = 1")
try:
    cb.execute("UPDATE t_order SET status = 'waited' WHERE order_id = 2")
except pymysql.Error as e:
    print("lock wait:", e.args[0])
ca.execute("COMMIT")
cb.execute("SELECT status FROM t_order WHERE order_id = 2")
print(cb.fetchall())
b.close()
ca.execute("DROP TABLE t_order")
a.close()
