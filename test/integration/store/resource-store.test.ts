import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { HoldfastError } from '../../../core/errors.js';
import type { Resource } from '../../../core/resource.js';
import { parseFieldSelector, parseLabelSelector } from '../../../core/selectors.js';
import type { Database } from '../../../store/database.js';
import { ResourceStore, type ChangeEvent } from '../../../store/resource-store.js';
import { WRITE_ORDER_LOCK } from '../../../store/fencing.js';
import { auditLog, resourceChanges } from '../../../store/schema.js';
import { DRIVERS } from '../../support/stores.js';

const ctx = { actor: 'test' };
const project = (name: string, labels?: Record<string, string>): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Project',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { environments: [{ name: 'staging' }] },
});
const service = (name: string, spec: Record<string, unknown> = { server: 'edge-1' }): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec,
});

async function rejects(p: Promise<unknown>, reason: string) {
  await assert.rejects(p, (err: unknown) => err instanceof HoldfastError && err.reason === reason);
}

for (const driver of DRIVERS) {
  describe(`resource store on ${driver.name}`, () => {
    let database: Database;
    let store: ResourceStore;
    before(async () => {
      database = await driver.open();
      store = new ResourceStore(database.db);
    });
    after(async () => database.close());

    it('creates with server-owned metadata and rejects a duplicate', async () => {
      const p = await store.create({ ...project('shop'), metadata: { name: 'shop', uid: 'forged', generation: 9 } }, ctx);
      assert.equal(p.metadata.generation, 1);
      assert.notEqual(p.metadata.uid, 'forged');
      assert.match(p.metadata.resourceVersion!, /^\d+$/);
      assert.ok(Date.parse(p.metadata.creationTimestamp!) > 0);
      await rejects(store.create(project('shop'), ctx), 'AlreadyExists');
    });

    it('bumps generation only when the spec changes, and always the resourceVersion', async () => {
      const v1 = await store.create(service('gen'), ctx);
      const v2 = await store.replace({ ...v1, metadata: { ...v1.metadata, labels: { a: 'b' } } }, ctx);
      assert.equal(v2.metadata.generation, 1);
      assert.ok(Number(v2.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
      const v3 = await store.replace({ ...v2, spec: { server: 'edge-2' } }, ctx);
      assert.equal(v3.metadata.generation, 2);
      assert.deepEqual(v3.metadata.labels, { a: 'b' });
    });

    it('reads many objects in one call as get reads each, of any kind and scope', async () => {
      await store.create(project('many'), ctx);
      const a = await store.create(service('many-a'), ctx);
      const b = await store.create({ ...service('many-b'), metadata: { name: 'many-b', namespace: 'other' } }, ctx);
      const keys = [
        { kind: 'Project', name: 'many' },
        { kind: 'Service', namespace: 'shop', name: 'many-a' },
        { kind: 'Service', namespace: 'other', name: 'many-b' },
        { kind: 'Service', namespace: 'other', name: 'many-a' },
        { kind: 'Project', namespace: 'shop', name: 'many' },
        { kind: 'Service', namespace: 'shop', name: 'absent' },
      ];
      const found = await store.getMany(keys);
      const names = found.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
      assert.deepEqual(names, ['Project//many', 'Service/other/many-b', 'Service/shop/many-a']);
      assert.deepEqual(found.find((o) => o.metadata.uid === a.metadata.uid), await store.get('Service', 'shop', 'many-a'));
      assert.equal(found.find((o) => o.metadata.name === 'many-b')?.metadata.resourceVersion, b.metadata.resourceVersion);
      assert.deepEqual(await store.getMany([]), []);
      // More keys than one query names: read in chunks, none lost.
      const many = Array.from({ length: 2500 }, (_, i) => ({ kind: 'Service', namespace: 'shop', name: i === 2400 ? 'many-a' : `nothing-${i}` }));
      assert.deepEqual((await store.getMany(many)).map((o) => o.metadata.uid), [a.metadata.uid]);
    });

    it('refuses a stale resourceVersion with Conflict', async () => {
      const v1 = await store.create(service('stale'), ctx);
      await store.replace({ ...v1, spec: { server: 'x' } }, ctx);
      await rejects(store.replace({ ...v1, spec: { server: 'y' } }, ctx), 'Conflict');
      assert.deepEqual((await store.get('Service', 'shop', 'stale'))!.spec, { server: 'x' });
    });

    it('writes status only through replaceStatus, which keeps the spec', async () => {
      const v1 = await store.create(service('st'), ctx);
      const withStatus = await store.replaceStatus({ ...v1, status: { observedGeneration: 1 }, spec: { server: 'ignored' } }, ctx);
      assert.deepEqual(withStatus.status, { observedGeneration: 1 });
      assert.deepEqual(withStatus.spec, { server: 'edge-1' });
      const replaced = await store.replace({ ...withStatus, spec: { server: 'b' }, status: { observedGeneration: 99 } }, ctx);
      assert.deepEqual(replaced.status, { observedGeneration: 1 });
    });

    it('holds an object with finalizers until the last one is removed', async () => {
      const v1 = await store.create({ ...service('fin'), metadata: { name: 'fin', namespace: 'shop', finalizers: ['holdfast.dev/cleanup'] } }, ctx);
      const marked = await store.delete('Service', 'shop', 'fin', ctx);
      assert.equal(marked.gone, false);
      assert.ok(marked.object.metadata.deletionTimestamp);
      assert.ok(await store.get('Service', 'shop', 'fin'));
      const again = await store.delete('Service', 'shop', 'fin', ctx);
      assert.equal(again.object.metadata.deletionTimestamp, marked.object.metadata.deletionTimestamp);
      await store.replace({ ...marked.object, metadata: { ...marked.object.metadata, finalizers: [] } }, ctx);
      assert.equal(await store.get('Service', 'shop', 'fin'), undefined);
      assert.ok(v1);
    });

    it('deletes, and answers NotFound after', async () => {
      await store.create(service('del'), ctx);
      const res = await store.delete('Service', 'shop', 'del', ctx);
      assert.equal(res.gone, true);
      await rejects(store.delete('Service', 'shop', 'del', ctx), 'NotFound');
    });

    it('lists with label and field selectors and paginates', async () => {
      for (const n of ['la', 'lb', 'lc', 'ld']) await store.create(project(n, { tier: n === 'la' ? 'web' : 'db' }), ctx);
      const web = await store.list('Project', { labelSelector: parseLabelSelector('tier=web') });
      assert.deepEqual(web.items.map((i) => i.metadata.name), ['la']);
      const notWeb = await store.list('Project', { labelSelector: parseLabelSelector('tier,tier!=web') });
      assert.deepEqual(notWeb.items.map((i) => i.metadata.name), ['lb', 'lc', 'ld']);
      const byName = await store.list('Project', { fieldSelector: parseFieldSelector('metadata.name=lc') });
      assert.deepEqual(byName.items.map((i) => i.metadata.name), ['lc']);
      const page1 = await store.list('Project', { labelSelector: parseLabelSelector('tier'), limit: 2 });
      assert.equal(page1.items.length, 2);
      assert.ok(page1.continue);
      const page2 = await store.list('Project', { labelSelector: parseLabelSelector('tier'), limit: 2, continue: page1.continue });
      assert.deepEqual(page2.items.map((i) => i.metadata.name), ['lc', 'ld']);
    });

    it('answers a list, empty or not, with the newest resourceVersion', async () => {
      const written = await store.create(project('rv-last'), ctx);
      const rv = written.metadata.resourceVersion;
      assert.equal((await store.list('Project', { fieldSelector: parseFieldSelector('metadata.name=rv-last') })).resourceVersion, rv);
      assert.equal((await store.list('Project')).resourceVersion, rv);
      const empty = await store.list('BackupPolicy', { namespace: 'nowhere' });
      assert.deepEqual(empty.items, []);
      assert.equal(empty.resourceVersion, rv);
    });

    it('never answers a list with the revision of a write that has not committed', { skip: driver.name !== 'postgres' && 'one connection: no write can be open beside a list' }, async () => {
      // Another replica's write, paused after drawing its revision: its own connection of the pool.
      let commit!: () => void;
      const release = new Promise<void>((ok) => (commit = ok));
      let drawn!: (rv: number) => void;
      const revision = new Promise<number>((ok) => (drawn = ok));
      const writing = database.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_ORDER_LOCK})`);
        const [{ rv }] = await tx.select({ rv: sql<string>`nextval('resource_version_seq')` }).from(sql`(select 1) as one`);
        await tx.insert(resourceChanges).values({ resourceVersion: Number(rv), type: 'ADDED', kind: 'Project', namespace: '', name: 'in-flight', object: project('in-flight') });
        drawn(Number(rv));
        await release;
      });
      const inFlight = await revision;
      const listed = await store.list('Project');
      assert.ok(Number(listed.resourceVersion) < inFlight, `the list named revision ${listed.resourceVersion}, which is not committed yet`);
      assert.ok((await store.currentResourceVersion()) < inFlight);
      commit();
      await writing;
      const replay = await store.changesSince(Number(listed.resourceVersion), 'Project');
      assert.deepEqual(replay!.map((e) => [e.object.metadata.name, e.resourceVersion]), [['in-flight', inFlight]], 'a watch from the list sees the write once it commits');
    });

    it('replays changes since a resourceVersion and notifies subscribers after commit', async () => {
      const start = await store.currentResourceVersion();
      const seen: ChangeEvent[] = [];
      const unsubscribe = store.subscribe((e) => seen.push(e));
      const a = await store.create(project('watched'), ctx);
      await store.replace({ ...a, spec: { environments: [{ name: 'prod' }] } }, ctx);
      await store.delete('Project', undefined, 'watched', ctx);
      unsubscribe();
      assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      const replay = await store.changesSince(start, 'Project');
      assert.deepEqual(replay!.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      assert.deepEqual(replay!.map((e) => e.resourceVersion), seen.map((e) => e.resourceVersion));
    });

    it('dry runs write nothing but are audited as dry runs', async () => {
      const before = await store.currentResourceVersion();
      const obj = await store.create(project('dry'), { actor: 'dry-tester', dryRun: true });
      assert.equal(obj.metadata.name, 'dry');
      assert.equal(await store.get('Project', undefined, 'dry'), undefined);
      assert.deepEqual(await store.changesSince(before, 'Project'), []);
      const rows = (await database.db.select().from(auditLog)).filter((r) => r.actor === 'dry-tester');
      assert.equal(rows.length, 1);
      assert.equal(rows[0].dryRun, true);
    });

    it('audits every write in the same transaction, and failures separately', async () => {
      await store.create(project('audited'), { actor: 'auditor' });
      await rejects(store.create(project('audited'), { actor: 'auditor' }), 'AlreadyExists');
      const rows = (await database.db.select().from(auditLog)).filter((r) => r.actor === 'auditor');
      assert.equal(rows.length, 1, 'the failed create left no success row');
      assert.equal(rows[0].verb, 'create');
      assert.equal(rows[0].outcome, 'Success');
      assert.equal(rows[0].generation, 1);
    });

    it('stores sealed values with the object and drops them with it', async () => {
      const s = await store.create({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, spec: {} }, ctx, [
        { key: 'password', ciphertext: 'sealed-1', valueHash: 'h1' },
      ]);
      assert.deepEqual(await store.sealedValues(s.metadata.uid!), [{ key: 'password', ciphertext: 'sealed-1', valueHash: 'h1' }]);
      await store.delete('Secret', 'shop', 'db', ctx);
      assert.deepEqual(await store.sealedValues(s.metadata.uid!), []);
    });

    it('serialises concurrent writers on one object: exactly one wins a race on the same resourceVersion', async () => {
      const v1 = await store.create(service('race'), ctx);
      // Two stores on one database, as the API's and a test's: their writes take turns all the same.
      const other = new ResourceStore(database.db);
      const results = await Promise.allSettled([1, 2, 3, 4].map((i) => (i % 2 ? store : other).replace({ ...v1, spec: { server: `s${i}` } }, ctx)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      assert.equal(results.filter((r) => r.status === 'rejected' && (r.reason as HoldfastError).reason === 'Conflict').length, 3);
      const won = results.findIndex((r) => r.status === 'fulfilled') + 1;
      assert.deepEqual((await store.mustGet('Service', 'shop', 'race')).spec, { server: `s${won}` });
    });

    it('names the object whose statement the database refused, and stores nothing of its set', async () => {
      // Two new objects given one uid: the database refuses the second insert (the uid is its key).
      const sameUid = new ResourceStore(database.db, { newUid: () => '00000000-0000-4000-8000-000000000001' });
      const set = ['set-a', 'set-b', 'set-c'].map((name) => ({ verb: 'create' as const, object: project(name) }));
      await assert.rejects(sameUid.writeSet(set, ctx), (err: unknown) => err instanceof HoldfastError && err.reason === 'AlreadyExists' && /"set-b"/.test(err.message));
      assert.deepEqual((await store.list('Project')).items.filter((p) => p.metadata.name.startsWith('set-')), []);
    });
  });
}

describe('event expiry', () => {
  it('removes Events whose last timestamp is older than the TTL, and keeps the rest', async () => {
    const { openDatabase } = await import('../../../store/database.js');
    const { expireEvents } = await import('../../../api/housekeeping.js');
    const database = await openDatabase({ inMemory: true });
    try {
      const store = new ResourceStore(database.db);
      const event = (name: string, lastTimestamp: string): Resource => ({
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'Event',
        metadata: { name, namespace: 'shop' },
        involvedObject: { kind: 'Service', name: 'web', namespace: 'shop' },
        reason: 'Test',
        message: name,
        type: 'Normal',
        count: 1,
        firstTimestamp: lastTimestamp,
        lastTimestamp,
      });
      await store.create(event('old', '2026-01-01T00:00:00Z'), { actor: 'test' });
      await store.create(event('fresh', new Date().toISOString()), { actor: 'test' });
      const removed = await expireEvents(store, new Date(Date.now() - 3600_000));
      assert.equal(removed, 1);
      assert.deepEqual((await store.list('Event')).items.map((e) => e.metadata.name), ['fresh']);
    } finally {
      await database.close();
    }
  });
});
