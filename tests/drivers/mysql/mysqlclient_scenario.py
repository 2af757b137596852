"""mysqlclient (MySQLdb, a C extension over libmariadb) through Shardwire:
the C client library's handshake, text protocol and error reporting."""

import MySQLdb

import scenario


def connect(autocommit=True):
    e = scenario.env()
    conn = MySQLdb.connect(
        host=e["host"],
        port=e["port"],
        user=e["user"],
        password=e["password"],
        database=e["database"],
    )
    conn.autocommit(autocommit)
    return conn


scenario.run(connect, MySQLdb.IntegrityError)
