// node mysql2 through Shardwire: the MySQL driver scenario with every
// statement that has parameters sent by the API SW_MYSQL2_API names:
// "execute" (server-side prepared statements, binary rows) or "query"
// (parameters inlined by the driver, text protocol); DDL always goes by
// query. A transaction over both shards, and an error then recovery.
// Where to connect comes from SW_HOST, SW_PORT, SW_USER, SW_PASSWORD,
// SW_DATABASE.
"use strict";

const mysql = require("mysql2/promise");
const assert = require("node:assert/strict");

const api = process.env.SW_MYSQL2_API;
if (api !== "execute" && api !== "query") {
  console.log(`FAIL: SW_MYSQL2_API must be execute or query, not ${api}`);
  process.exit(1);
}

// The statement with parameters, by the API under test.
function send(conn, sql, params) {
  return conn[api](sql, params);
}

function connect() {
  return mysql.createConnection({
    host: process.env.SW_HOST,
    port: Number(process.env.SW_PORT),
    user: process.env.SW_USER,
    password: process.env.SW_PASSWORD,
    database: process.env.SW_DATABASE,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
  });
}

async function column(conn, sql, params) {
  const [rows] = await send(conn, { sql, rowsAsArray: true }, params || []);
  return rows.map((r) => r.map(String).join("|"));
}

async function main() {
  const c = await connect();
  // DDL fans out to every shard.
  // Through a passthrough database (SW_DIRECT=1) no proxy generates keys.
  const key = process.env.SW_DIRECT === '1' ? 'AUTO_INCREMENT ' : '';
  await c.query(
    `CREATE TABLE t_order (order_id BIGINT NOT NULL ${key}PRIMARY KEY, user_id INT NOT NULL, amount DECIMAL(10,2), status VARCHAR(20))`
  );
  await c.query("CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20))");

  // A generated key comes back as insertId and is what was stored.
  const [done] = await send(c, "INSERT INTO t_order (user_id, amount, status) VALUES (?, ?, ?)", [7, "1.50", "gen"]);
  assert.ok(String(done.insertId) !== "0", "a generated key is reported");
  assert.deepEqual(await column(c, "SELECT order_id FROM t_order WHERE user_id = ?", [7]), [String(done.insertId)]);

  for (let i = 0; i < 4; i++) {
    await send(c, "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, ?, ?)", [
      100 + i,
      1 + i,
      `${i + 1}.00`,
      i % 2 === 0 ? "a" : "b",
    ]);
  }
  await c.query("INSERT INTO t_region (id, name) VALUES (1, 'north')");

  assert.deepEqual(await column(c, "SELECT status FROM t_order WHERE user_id = ? AND order_id = ?", [2, 101]), ["b"]);
  assert.deepEqual(
    await column(c, "SELECT order_id FROM t_order WHERE order_id BETWEEN ? AND ? ORDER BY order_id DESC", [100, 199]),
    ["103", "102", "101", "100"]
  );
  assert.deepEqual(
    await column(c, "SELECT COUNT(*), SUM(amount), MAX(order_id) FROM t_order WHERE order_id BETWEEN ? AND ?", [100, 199]),
    ["4|10.00|103"]
  );
  const [grouped] = await c.query({
    sql: "SELECT status, COUNT(*) FROM t_order WHERE order_id BETWEEN 100 AND 199 GROUP BY status ORDER BY status",
    rowsAsArray: true,
  });
  assert.deepEqual(grouped.map((r) => r.map(String).join("|")), ["a|2", "b|2"]);
  assert.deepEqual(await column(c, "SELECT name FROM t_region"), ["north"]);

  // A transaction over both shards: rolled back, then committed.
  const tx = await connect();
  const insert = "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1, 'tx')";
  await tx.beginTransaction();
  await send(tx, insert, [200, 1]);
  await send(tx, insert, [201, 2]);
  await tx.rollback();
  assert.deepEqual(await column(c, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), ["0"]);
  await tx.beginTransaction();
  await send(tx, insert, [200, 1]);
  await send(tx, insert, [201, 2]);
  assert.deepEqual(await column(c, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), ["0"]);
  await tx.commit();
  assert.deepEqual(await column(c, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), ["2"]);
  await tx.end();

  // An error, then the connection goes on.
  await assert.rejects(
    send(c, "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1, 'dup')", [100, 1]),
    (e) => e.errno === 1062
  );
  assert.deepEqual(await column(c, "SELECT COUNT(*) FROM t_order WHERE order_id = ?", [100]), ["1"]);
  await c.end();
  console.log("scenario passed");
}

main().catch((e) => {
  console.log("FAIL:", e);
  process.exit(1);
});
