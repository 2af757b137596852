"""PyMySQL (pure Python, text protocol) through Shardwire."""

import pymysql

import scenario


def connect(autocommit=True):
    return pymysql.connect(autocommit=autocommit, **scenario.env())


scenario.run(connect, pymysql.err.IntegrityError)
