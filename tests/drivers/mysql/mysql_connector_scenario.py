"""mysql-connector-python, pure-Python implementation, with server-side
prepared statements (COM_STMT_PREPARE / EXECUTE, binary rows) and its
default caching_sha2_password login."""

import mysql.connector

import scenario


def connect(autocommit=True):
    return mysql.connector.connect(use_pure=True, autocommit=autocommit, **scenario.env())


scenario.run(
    connect,
    mysql.connector.errors.IntegrityError,
    cursor=lambda c: c.cursor(prepared=True),
)
