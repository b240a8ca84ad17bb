// Drift records on both drivers: open, update, close; history; heals; values redacted on the way in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DriftEntry } from '../../../core/drift/types.js';
import type { Database } from '../../../store/database.js';
import { DriftStore } from '../../../store/drift.js';
import { DRIVERS } from '../../support/stores.js';

const web = { uid: 'uid-web', namespace: 'shop', name: 'web' };
const db = { uid: 'uid-db', namespace: 'data', name: 'db' };
const live = (path: string, actual: unknown = 'exited (exit code 137)'): DriftEntry => ({ path, kind: 'changed', expected: 'running', actual, source: 'live-vs-frozen' });
const declared = (path: string): DriftEntry => ({ path, kind: 'changed', expected: 'start-first', actual: 'stop-first', source: 'declared-vs-frozen' });
const BOTH = ['live-vs-frozen', 'declared-vs-frozen'] as const;

for (const driver of DRIVERS) {
  describe(`drift store on ${driver.name}`, () => {
    let database: Database;
    let clock = new Date('2026-01-01T10:00:00Z');
    let store: DriftStore;
    const tick = (seconds: number) => (clock = new Date(clock.getTime() + seconds * 1000));
    before(async () => {
      database = await driver.open();
      store = new DriftStore(database.db, { clock: () => clock, redact: (v) => JSON.parse(JSON.stringify(v).replaceAll('canary-secret-value', '[REDACTED]')) });
    });
    after(async () => database.close());

    it('opens a record per difference, keeps its first sighting, and closes it when it is gone', async () => {
      const first = await store.record(web, [live('containers[a].state.status'), declared('update.order')], BOTH);
      assert.deepEqual(first.opened.map((r) => r.path).sort(), ['containers[a].state.status', 'update.order']);
      assert.equal(first.open.length, 2);
      tick(30);
      const second = await store.record(web, [live('containers[a].state.status', 'restarting (2 restarts)'), declared('update.order')], BOTH);
      assert.deepEqual([second.opened, second.resolved], [[], []]);
      const state = second.open.find((r) => r.path === 'containers[a].state.status')!;
      assert.equal(state.firstSeen, '2026-01-01T10:00:00.000Z');
      assert.equal(state.lastSeen, '2026-01-01T10:00:30.000Z');
      assert.equal(state.actual, 'restarting (2 restarts)');
      tick(30);
      const third = await store.record(web, [declared('update.order')], BOTH);
      assert.deepEqual(third.resolved.map((r) => [r.path, r.resolution, r.resolvedAt]), [['containers[a].state.status', 'gone', '2026-01-01T10:01:00.000Z']]);
      assert.deepEqual(third.open.map((r) => r.path), ['update.order']);
    });

    it('leaves the records of a source it did not check', async () => {
      const update = await store.record(web, [], ['live-vs-frozen']);
      assert.deepEqual(update.open.map((r) => r.path), ['update.order']);
    });

    it('marks what a heal deployment removed', async () => {
      await store.record(web, [live('containers[a].state.status')], ['live-vs-frozen']);
      const queuedAt = tick(5);
      tick(5);
      const healed = await store.record(web, [], ['live-vs-frozen'], { heal: { deployment: 'd-heal', queuedAt } });
      assert.deepEqual(healed.resolved.map((r) => [r.path, r.resolution, r.healedBy]), [['containers[a].state.status', 'healed', 'd-heal']]);
    });

    it('keeps the history newest first, open and closed', async () => {
      const history = await store.history(web.uid);
      assert.deepEqual(history.map((r) => [r.path, r.resolution ?? 'open']), [
        ['containers[a].state.status', 'healed'],
        ['update.order', 'open'],
        ['containers[a].state.status', 'gone'],
      ]);
    });

    it('lists open drift across services and namespaces, and counts it by kind', async () => {
      await store.record(db, [{ path: 'containers[db_2]', kind: 'missing', expected: { image: 'pg:16' }, source: 'live-vs-frozen' }], BOTH);
      assert.deepEqual((await store.openAll()).map((r) => `${r.namespace}/${r.service} ${r.path}`), ['data/db containers[db_2]', 'shop/web update.order']);
      assert.deepEqual((await store.openAll('shop')).map((r) => r.path), ['update.order']);
      assert.deepEqual(await store.countOpenByKind(), { changed: 1, missing: 1 });
      assert.deepEqual((await store.servicesWithOpenDrift()).map((s) => s.uid).sort(), ['uid-db', 'uid-web']);
    });

    it('redacts values before they are stored', async () => {
      await store.record(web, [live('containers[a].env.TOKEN', { value: 'canary-secret-value' })], ['live-vs-frozen']);
      const open = await store.open(web.uid);
      assert.deepEqual(open.find((r) => r.path === 'containers[a].env.TOKEN')!.actual, { value: '[REDACTED]' });
    });

    it('closes everything of a deleted service and prunes old history', async () => {
      assert.equal(await store.closeService('data', 'db', db.uid), 0, 'the records of the living service stay');
      assert.equal(await store.closeService('data', 'db'), 1);
      assert.deepEqual(await store.open(db.uid), []);
      tick(3600);
      assert.equal(await store.prune(new Date(clock.getTime() - 60_000)), 3, 'the two closed web records and the closed db one');
      assert.deepEqual((await store.history(web.uid)).map((r) => r.resolution ?? 'open'), ['open', 'open']);
    });
  });
}
