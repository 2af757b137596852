"""mysql-connector-python, pure-Python implementation, with its default
caching_sha2_password login, in one of two modes named by the first
argument: `prepared` runs the scenario on `cursor(prepared=True)`
(server-side prepared statements: COM_STMT_PREPARE / EXECUTE, binary
rows), `text` on the plain cursor (parameters inlined, COM_QUERY)."""

import sys

import mysql.connector

import scenario


def connect(autocommit=True):
    return mysql.connector.connect(use_pure=True, autocommit=autocommit, **scenario.env())


modes = {"prepared": lambda c: c.cursor(prepared=True), "text": lambda c: c.cursor()}
if len(sys.argv) != 2 or sys.argv[1] not in modes:
    sys.exit(f"usage: {sys.argv[0]} prepared|text")

scenario.run(connect, mysql.connector.errors.IntegrityError, cursor=modes[sys.argv[1]])
