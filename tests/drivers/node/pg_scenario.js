// node-postgres (pg): named queries (server-side prepared statements),
// BEGIN/COMMIT on one client, and pipeline mode with the middle query
// failing. Steps and expected answers: ../README.md.
'use strict';

const { Client } = require('pg');
const { settings, Reporter, TOTALS, BY_STATUS, DUPLICATE_KEY } = require('./scenario');

const s = settings();
const r = new Reporter('node-postgres');
const { orders, regions } = s;
const insertOne = `INSERT INTO ${orders} (order_id, user_id, status, amount) VALUES ($1, $2, $3, $4)`;

async function main() {
  r.step('connect');
  const client = new Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });
  await client.connect();
  const rows = async (text, values) => (await client.query({ text, values, rowMode: 'array' })).rows;
  r.check('SELECT 1', await rows('SELECT 1'), [[1]]);

  r.step('create tables');
  await client.query(s.createOrders);
  await client.query(s.createRegions);

  r.step('broadcast table');
  let res = await client.query(`INSERT INTO ${regions} (id, name) VALUES (1, 'north'), (2, 'south')`);
  r.check('rows inserted', res.rowCount, 2);
  r.check('region 2', await rows(`SELECT name FROM ${regions} WHERE id = $1`, [2]), [['south']]);
  r.check('regions', await rows(`SELECT COUNT(*) FROM ${regions}`), [[2]]);

  r.step('insert');
  res = await client.query(s.insertOrders);
  r.check('rows inserted', res.rowCount, 6);

  r.step('generated keys');
  let found = await rows(
    `INSERT INTO ${orders} (user_id, status, amount) VALUES ($1, $2, $3) RETURNING order_id`, [5, 'new', '70.00']);
  r.check('one key returned', found.length, 1);
  const keyA = BigInt(found[0][0]);
  r.check('RETURNING order_id is positive', keyA > 0n, true);
  res = await client.query(`INSERT INTO ${orders} (user_id, status, amount) VALUES (6, 'shipped', 80.00)`);
  r.check('rows inserted', res.rowCount, 1);
  found = await rows(`SELECT order_id FROM ${orders} WHERE user_id = 6`);
  r.check('one order for user 6', found.length, 1);
  const keyB = BigInt(found[0][0]);
  r.check('second key is positive and new', keyB > 0n && keyB !== keyA, true);
  r.check("user 5's order", await rows(`SELECT order_id FROM ${orders} WHERE user_id = 5`), [[keyA]]);

  r.step('point select');
  r.check('user 2', await rows(`SELECT order_id, status, amount FROM ${orders} WHERE user_id = 2 ORDER BY order_id`),
    [[3, 'new', '30.00'], [4, 'paid', '40.00']]);
  r.check('order 5', await rows(`SELECT user_id, status, amount FROM ${orders} WHERE order_id = 5`),
    [[3, 'paid', '60.00']]);

  r.step('scatter ORDER BY / LIMIT / OFFSET');
  r.check('page', await rows(`SELECT order_id, amount FROM ${orders} ORDER BY amount DESC LIMIT 3 OFFSET 1`),
    [[keyA, '70.00'], [5, '60.00'], [6, '50.00']]);

  r.step('aggregates');
  r.check('totals',
    await rows(`SELECT COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) FROM ${orders}`), [TOTALS]);
  r.check('by status', await rows(`SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) ` +
    `FROM ${orders} GROUP BY status ORDER BY status`), BY_STATUS);

  r.step('prepared statements');
  const point = (values) => client.query({
    name: 'point', rowMode: 'array', values,
    text: `SELECT user_id, status, amount FROM ${orders} WHERE user_id = $1 AND order_id = $2`,
  });
  r.check('(1, 2)', (await point([1, 2])).rows, [[1, 'paid', '20.00']]);
  r.check('(2, 3)', (await point([2, 3])).rows, [[2, 'new', '30.00']]);
  const countOver = (values) => client.query({
    name: 'count_over', rowMode: 'array', values, text: `SELECT COUNT(*) FROM ${orders} WHERE amount > $1`,
  });
  r.check('over 35', (await countOver(['35'])).rows, [[5]]);
  r.check('over 65', (await countOver(['65'])).rows, [[2]]);

  r.step('transaction committed');
  await client.query('BEGIN');
  await client.query(insertOne, [101, 7, 'tx', '1.00']);
  await client.query(insertOne, [102, 8, 'tx', '2.00']);
  await client.query('COMMIT');
  r.check('committed rows', await rows(`SELECT COUNT(*), SUM(amount) FROM ${orders} WHERE status = 'tx'`),
    [[2, '3.00']]);

  r.step('transaction rolled back');
  const countRb = `SELECT COUNT(*) FROM ${orders} WHERE status = 'rb'`;
  await client.query('BEGIN');
  await client.query(insertOne, [103, 9, 'rb', '3.00']);
  await client.query(insertOne, [104, 10, 'rb', '4.00']);
  r.check('rows seen inside', await rows(countRb), [[2]]);
  await client.query('ROLLBACK');
  r.check('rows after rollback', await rows(countRb), [[0]]);

  r.step('pipelined queries with an error');
  // pg's pipeline mode sends all three before reading any answer; each
  // carries its own Sync, so the failure ends only its own statement.
  const piped = new Client({
    host: s.host, port: s.port, user: s.user, password: s.password, database: s.database, pipeline: true,
  });
  await piped.connect();
  const settled = await Promise.allSettled([
    piped.query(insertOne, [201, 1, 'pipe', '1.00']),
    piped.query(insertOne, [1, 1, 'dup', '1.00']),
    piped.query(insertOne, [203, 1, 'pipe', '3.00']),
  ]);
  r.check('outcomes', settled.map((o) => (o.status === 'fulfilled' ? 'ok' : o.reason.code)),
    ['ok', DUPLICATE_KEY, 'ok']);
  r.check('same connection afterwards', (await piped.query({ text: 'SELECT 1', rowMode: 'array' })).rows, [[1]]);
  await piped.end();

  r.step('recovery');
  r.check('pipe rows', await rows(`SELECT COUNT(*) FROM ${orders} WHERE status = 'pipe'`), [[2]]);
  r.check('orders', await rows(`SELECT COUNT(*) FROM ${orders}`), [[12]]);
  r.check('regions', await rows(`SELECT COUNT(*) FROM ${regions}`), [[2]]);

  r.step('drop tables');
  await client.query(`DROP TABLE ${orders}`);
  await client.query(`DROP TABLE ${regions}`);
  await client.end();
  r.done();
}

main().catch((e) => {
  console.log(`[node-postgres] FAIL in step '${r.current}': ${e.code ? `${e.code} ` : ''}${e.stack || e}`);
  process.exit(1);
});
