"""aiomysql (asyncio) through Shardwire. The scenario is written once for
DB-API drivers; here each call is awaited on one event loop, so every
byte still goes through aiomysql's own asyncio connection."""

import asyncio

import aiomysql
import pymysql

import scenario

loop = asyncio.new_event_loop()


def wait(coroutine):
    return loop.run_until_complete(coroutine)


class Cursor:
    def __init__(self, cur):
        self._cur = cur

    def execute(self, sql, params=()):
        return wait(self._cur.execute(sql, params))

    def executemany(self, sql, rows):
        return wait(self._cur.executemany(sql, rows))

    def fetchall(self):
        return wait(self._cur.fetchall())

    @property
    def lastrowid(self):
        return self._cur.lastrowid


class Connection:
    def __init__(self, conn):
        self._conn = conn

    def cursor(self):
        async def open_cursor():
            return await self._conn.cursor()

        return Cursor(wait(open_cursor()))

    def commit(self):
        wait(self._conn.commit())

    def rollback(self):
        wait(self._conn.rollback())

    def close(self):
        self._conn.close()


def connect(autocommit=True):
    e = scenario.env()

    async def open_connection():
        return await aiomysql.connect(
            host=e["host"],
            port=e["port"],
            user=e["user"],
            password=e["password"],
            db=e["database"],
            autocommit=autocommit,
        )

    return Connection(wait(open_connection()))


scenario.run(connect, pymysql.err.IntegrityError)
