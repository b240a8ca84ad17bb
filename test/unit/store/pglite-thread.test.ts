// The embedded database runs in a thread of its own: the server's thread goes on (timers, I/O)
// while a query runs, transactions stay atomic and serialised (also a set of statements sent at
// once), and the database's errors keep the fields the store reads.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PgliteThread } from '../../../store/pglite-thread.js';

describe('PgliteThread', () => {
  let db: PgliteThread;
  before(async () => {
    db = new PgliteThread({ settings: [] });
    await db.waitReady;
    await db.query('create table t (id int primary key, v text)');
  });
  after(() => db.close());

  it('lets timers run while one long query runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = Date.now();
    try {
      await db.query('select count(*) from generate_series(1, 3000000) g join generate_series(1, 3) h on true');
    } finally {
      clearInterval(timer);
    }
    const took = Date.now() - started;
    // In the server's own thread a query's whole time would pass without a timer (PGlite is synchronous).
    assert.ok(took >= 50, `the query took ${took} ms: too short to tell`);
    assert.ok(ticks >= Math.floor(took / 5 / 4), `${ticks} timer ticks in ${took} ms`);
  });

  it('keeps transactions atomic: a failed one leaves nothing, a committed one everything', async () => {
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('insert into t (id, v) values (1000, $1)', ['a']);
        await tx.query('insert into t (id, v) values (1000, $1)', ['duplicate']);
      }),
      (err: Error & { code?: string }) => err.code === '23505' && /duplicate key/.test(err.message),
    );
    assert.equal((await db.query<{ n: number }>('select count(*)::int as n from t where id = 1000')).rows[0].n, 0);
    await db.transaction(async (tx) => {
      await tx.query('insert into t (id, v) values (1001, $1)', ['b']);
      await tx.query('insert into t (id, v) values (1002, $1)', ['c']);
    });
    assert.equal((await db.query<{ n: number }>('select count(*)::int as n from t where id in (1001, 1002)')).rows[0].n, 2);
  });

  it('rolls back when the caller throws, and rethrows what it threw', async () => {
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('insert into t (id, v) values (2000, $1)', ['x']);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal((await db.query<{ n: number }>('select count(*)::int as n from t where id = 2000')).rows[0].n, 0);
  });

  it('runs a query from outside an open transaction after it ends, not inside it', async () => {
    const order: string[] = [];
    let outside!: Promise<unknown>;
    await db.transaction(async (tx) => {
      await tx.query('insert into t (id, v) values (3000, $1)', ['in']);
      outside = db.query<{ n: number }>('select count(*)::int as n from t where id = 3000').then((r) => order.push(`outside saw ${r.rows[0].n}`));
      await new Promise((ok) => setTimeout(ok, 50));
      order.push('commit');
    });
    await outside;
    assert.deepEqual(order, ['commit', 'outside saw 1']);
  });

  it('runs a set of statements in one transaction of its own thread: all committed, all rolled back, or none when one fails', async () => {
    const count = async (ids: string) => (await db.query<{ n: number }>(`select count(*)::int as n from t where id in (${ids})`)).rows[0].n;
    await db.runTransaction(
      [
        { sql: 'insert into t (id, v) values ($1, $2)', params: [4000, 'a'] },
        { sql: 'insert into t (id, v) values ($1, $2)', params: [4001, 'b'] },
      ],
      { commit: true },
    );
    assert.equal(await count('4000, 4001'), 2);
    await db.runTransaction([{ sql: 'insert into t (id, v) values ($1, $2)', params: [4002, 'dry'] }], { commit: false });
    assert.equal(await count('4002'), 0, 'a set not to be committed ran and was rolled back');
    await assert.rejects(
      db.runTransaction(
        [
          { sql: 'insert into t (id, v) values ($1, $2)', params: [4003, 'c'] },
          { sql: 'insert into t (id, v) values ($1, $2)', params: [4003, 'duplicate'] },
          { sql: 'insert into t (id, v) values ($1, $2)', params: [4004, 'd'] },
        ],
        { commit: true },
      ),
      (err: Error & { code?: string; statementIndex?: number }) => err.code === '23505' && err.statementIndex === 1,
    );
    assert.equal(await count('4003, 4004'), 0);
  });

  it('answers rows as objects or arrays, and keeps the text of the types it is told to', async () => {
    const asArrays = await db.query("select 1::int as n, '2026-12-05 10:00:00+00'::timestamptz as at", [], { rowMode: 'array', parsers: { 1184: (v) => v } });
    assert.deepEqual(asArrays.rows, [[1, '2026-12-05 10:00:00+00']]);
    const asObjects = await db.query<{ n: number }>('select 2::int as n', [], { rowMode: 'object' });
    assert.deepEqual(asObjects.rows, [{ n: 2 }]);
  });
});

describe('PgliteThread after its thread is gone', () => {
  it('fails what comes with a reason', async () => {
    const db = new PgliteThread({ settings: [] });
    await db.waitReady;
    await db.close();
    await assert.rejects(db.query('select 1'), /the embedded database is closed/);
  });
});
