// postgres.js: tagged-template queries as named server-side prepared
// statements (prepare: true), sql.begin transactions, and three queries
// issued at once on one connection, pipelined, the middle one failing.
// Steps and expected answers: ../README.md.
'use strict';

const postgres = require('postgres');
const { settings, Reporter, TOTALS, BY_STATUS, DUPLICATE_KEY } = require('./scenario');

const s = settings();
const r = new Reporter('postgres.js');

// Raised inside sql.begin to make it roll back.
class Rollback extends Error {}

async function main() {
  r.step('connect');
  // One connection: the pipeline step must share it, and a transaction's
  // statements must not be spread over several.
  const sql = postgres({
    host: s.host, port: s.port, username: s.user, password: s.password, database: s.database,
    max: 1, prepare: true, onnotice: () => {},
  });
  const orders = sql(s.orders);
  const regions = sql(s.regions);
  const values = (result) => result.map((row) => Object.values(row));
  r.check('SELECT 1', values(await sql`SELECT 1 AS one`), [[1]]);

  r.step('create tables');
  await sql.unsafe(s.createOrders);
  await sql.unsafe(s.createRegions);

  r.step('broadcast table');
  let res = await sql`INSERT INTO ${regions} (id, name) VALUES (1, 'north'), (2, 'south')`;
  r.check('rows inserted', res.count, 2);
  r.check('region 2', values(await sql`SELECT name FROM ${regions} WHERE id = ${2}`), [['south']]);
  r.check('regions', values(await sql`SELECT COUNT(*) FROM ${regions}`), [[2]]);

  r.step('insert');
  res = await sql.unsafe(s.insertOrders);
  r.check('rows inserted', res.count, 6);

  r.step('generated keys');
  let found = values(await sql`
    INSERT INTO ${orders} (user_id, status, amount) VALUES (${5}, ${'new'}, ${'70.00'}) RETURNING order_id`);
  r.check('one key returned', found.length, 1);
  const keyA = BigInt(found[0][0]);
  r.check('RETURNING order_id is positive', keyA > 0n, true);
  res = await sql`INSERT INTO ${orders} (user_id, status, amount) VALUES (6, 'shipped', 80.00)`;
  r.check('rows inserted', res.count, 1);
  found = values(await sql`SELECT order_id FROM ${orders} WHERE user_id = 6`);
  r.check('one order for user 6', found.length, 1);
  const keyB = BigInt(found[0][0]);
  r.check('second key is positive and new', keyB > 0n && keyB !== keyA, true);
  r.check("user 5's order", values(await sql`SELECT order_id FROM ${orders} WHERE user_id = 5`), [[keyA]]);

  r.step('point select');
  r.check('user 2', values(await sql`
    SELECT order_id, status, amount FROM ${orders} WHERE user_id = 2 ORDER BY order_id`),
  [[3, 'new', '30.00'], [4, 'paid', '40.00']]);
  r.check('order 5', values(await sql`SELECT user_id, status, amount FROM ${orders} WHERE order_id = 5`),
    [[3, 'paid', '60.00']]);

  r.step('scatter ORDER BY / LIMIT / OFFSET');
  r.check('page', values(await sql`SELECT order_id, amount FROM ${orders} ORDER BY amount DESC LIMIT 3 OFFSET 1`),
    [[keyA, '70.00'], [5, '60.00'], [6, '50.00']]);

  r.step('aggregates');
  r.check('totals', values(await sql`
    SELECT COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount) FROM ${orders}`), [TOTALS]);
  r.check('by status', values(await sql`
    SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount)
    FROM ${orders} GROUP BY status ORDER BY status`), BY_STATUS);

  r.step('prepared statements');
  // The same text with new parameters reuses the named statement.
  const point = (user, id) => sql`SELECT user_id, status, amount FROM ${orders} WHERE user_id = ${user} AND order_id = ${id}`;
  r.check('(1, 2)', values(await point(1, 2)), [[1, 'paid', '20.00']]);
  r.check('(2, 3)', values(await point(2, 3)), [[2, 'new', '30.00']]);
  const countOver = (amount) => sql`SELECT COUNT(*) FROM ${orders} WHERE amount > ${amount}`;
  r.check('over 35', values(await countOver('35')), [[5]]);
  r.check('over 65', values(await countOver('65')), [[2]]);

  const insertOne = (tx, id, user, status, amount) =>
    tx`INSERT INTO ${orders} (order_id, user_id, status, amount) VALUES (${id}, ${user}, ${status}, ${amount})`;

  r.step('transaction committed');
  await sql.begin(async (tx) => {
    await insertOne(tx, 101, 7, 'tx', '1.00');
    await insertOne(tx, 102, 8, 'tx', '2.00');
  });
  r.check('committed rows', values(await sql`SELECT COUNT(*), SUM(amount) FROM ${orders} WHERE status = 'tx'`),
    [[2, '3.00']]);

  r.step('transaction rolled back');
  const countRb = (q) => q`SELECT COUNT(*) FROM ${orders} WHERE status = 'rb'`;
  let rolledBack = false;
  try {
    await sql.begin(async (tx) => {
      await insertOne(tx, 103, 9, 'rb', '3.00');
      await insertOne(tx, 104, 10, 'rb', '4.00');
      r.check('rows seen inside', values(await countRb(tx)), [[2]]);
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
    rolledBack = true;
  }
  r.check('rolled back', rolledBack, true);
  r.check('rows after rollback', values(await countRb(sql)), [[0]]);

  r.step('pipelined queries with an error');
  const settled = await Promise.allSettled([
    insertOne(sql, 201, 1, 'pipe', '1.00'),
    insertOne(sql, 1, 1, 'dup', '1.00'),
    insertOne(sql, 203, 1, 'pipe', '3.00'),
  ]);
  r.check('outcomes', settled.map((o) => (o.status === 'fulfilled' ? 'ok' : o.reason.code)),
    ['ok', DUPLICATE_KEY, 'ok']);

  r.step('errors answered before Sync');
  // postgres.js sends Parse + Describe + Flush and waits for the answer
  // before it sends Sync: an error must come back on Flush alone.
  const code = (query) => Promise.race([
    query.then(() => 'ok', (e) => e.code),
    new Promise((resolve) => { setTimeout(() => resolve('no answer within 10 s'), 10000); }),
  ]);
  r.check('unknown table', await code(sql`SELECT * FROM ${sql(`${s.orders}_missing`)} WHERE id = ${1}`),
    '42P01');
  r.check('syntax error', await code(sql`SELEC ${1}`), '42601');

  r.step('recovery');
  r.check('pipe rows', values(await sql`SELECT COUNT(*) FROM ${orders} WHERE status = 'pipe'`), [[2]]);
  r.check('orders', values(await sql`SELECT COUNT(*) FROM ${orders}`), [[12]]);
  r.check('regions', values(await sql`SELECT COUNT(*) FROM ${regions}`), [[2]]);

  r.step('drop tables');
  await sql`DROP TABLE ${orders}`;
  await sql`DROP TABLE ${regions}`;
  await sql.end();
  r.done();
}

main().catch((e) => {
  console.log(`[postgres.js] FAIL in step '${r.current}': ${e.code ? `${e.code} ` : ''}${e.stack || e}`);
  process.exit(1);
});
