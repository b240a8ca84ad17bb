// The embedded database must not starve the event loop: timers and I/O get their turn between the
// queries of a caller that awaits one after another (plain PGlite gives them none), and
// transactions behave as before.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { YieldingPGlite } from '../../../store/yielding-pglite.js';

async function timerTicksDuring(db: PGlite, queries: number): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  try {
    for (let i = 0; i < queries; i++) await db.query('insert into t (id, v) values ($1, $2) on conflict (id) do update set v = excluded.v', [i % 50, `v${i}`]);
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

describe('YieldingPGlite', () => {
  let plain: PGlite;
  let yielding: YieldingPGlite;
  before(async () => {
    plain = new PGlite();
    yielding = new YieldingPGlite();
    for (const db of [plain, yielding]) await db.exec('create table t (id int primary key, v text)');
  });
  after(async () => {
    await plain.close();
    await yielding.close();
  });

  it('lets timers run between queries, where plain PGlite lets none', async () => {
    assert.equal(await timerTicksDuring(plain, 300), 0, 'plain PGlite: the premise of YieldingPGlite');
    assert.ok((await timerTicksDuring(yielding, 300)) > 10);
  });

  it('keeps transactions atomic: a failed one leaves nothing, a committed one everything', async () => {
    await assert.rejects(
      yielding.transaction(async (tx) => {
        await tx.query('insert into t (id, v) values (1000, $1)', ['a']);
        await tx.query('insert into t (id, v) values (1000, $1)', ['duplicate']);
      }),
      /duplicate key/,
    );
    assert.equal((await yielding.query<{ n: number }>('select count(*)::int as n from t where id = 1000')).rows[0].n, 0);
    await yielding.transaction(async (tx) => {
      await tx.query('insert into t (id, v) values (1001, $1)', ['b']);
      await tx.query('insert into t (id, v) values (1002, $1)', ['c']);
    });
    assert.equal((await yielding.query<{ n: number }>('select count(*)::int as n from t where id in (1001, 1002)')).rows[0].n, 2);
  });
});
