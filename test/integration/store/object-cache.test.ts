// The controllers' cache of Servers, SSHKeys, Secrets and BackupPolicies: one list of the store per
// kind, then answers from memory that follow every write at once, and no change lost while the first
// list was under way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import type { Database } from '../../../store/database.js';
import { ObjectCache } from '../../../store/object-cache.js';
import { ResourceStore } from '../../../store/resource-store.js';
import { DRIVERS } from '../../support/stores.js';

const ctx = { actor: 'test' };
const server = (name: string, host: string): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Server',
  metadata: { name },
  spec: { kind: 'docker-engine', host, port: 22, user: 'root', dockerSocket: '/var/run/docker.sock' },
});
const policy = (namespace: string, name: string): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'BackupPolicy',
  metadata: { name, namespace },
  spec: { service: 'db', schedule: '0 3 * * *', volumes: ['data'], retention: { keepLast: 3 } },
});

for (const driver of DRIVERS) {
  describe(`object cache on ${driver.name}`, () => {
    let database: Database;
    let store: ResourceStore;
    let cache: ObjectCache;
    let storeReads = 0;
    let gate: Promise<void> | undefined;
    before(async () => {
      database = await driver.open();
      store = new ResourceStore(database.db);
      const list = store.list.bind(store);
      // Counts the cache's lists of the store; while `gate` is set, an answer is held until it opens.
      store.list = (async (kind: string, opts?: object) => {
        storeReads++;
        const found = await list(kind, opts);
        await gate;
        return found;
      }) as typeof store.list;
      await store.create(server('edge-1', '10.0.0.1'), ctx);
      cache = new ObjectCache(store, ['Server', 'SSHKey', 'BackupPolicy']);
    });
    after(async () => {
      cache.close();
      await database.close();
    });

    it('lists a kind from the store once, then answers from memory, following its writes at once', async () => {
      storeReads = 0;
      assert.equal((await cache.get('Server', undefined, 'edge-1'))?.spec?.host, '10.0.0.1');
      assert.equal((await cache.get('Server', undefined, 'edge-1'))?.spec?.host, '10.0.0.1');
      assert.equal(await cache.get('Server', undefined, 'nowhere'), undefined);
      assert.equal(storeReads, 1);
      const current = await store.mustGet('Server', undefined, 'edge-1');
      const moved = await store.replace({ ...current, spec: { ...current.spec!, host: '10.0.0.2' } }, ctx);
      const seen = await cache.get('Server', undefined, 'edge-1');
      assert.equal(seen?.spec?.host, '10.0.0.2');
      assert.equal(seen?.metadata.resourceVersion, moved.metadata.resourceVersion);
      await store.delete('Server', undefined, 'edge-1', ctx);
      assert.equal(await cache.get('Server', undefined, 'edge-1'), undefined);
      await store.create(server('edge-1', '10.0.0.9'), ctx);
      assert.equal((await cache.get('Server', undefined, 'edge-1'))?.spec?.host, '10.0.0.9');
      assert.equal(storeReads, 1, 'every change came from the store\'s events');
    });

    it('lists one namespace or all, as the store orders them', async () => {
      await store.create(policy('shop', 'nightly'), ctx);
      await store.create(policy('blog', 'hourly'), ctx);
      await store.create(policy('shop', 'hourly'), ctx);
      const names = (items: Array<{ metadata: { namespace?: string; name: string } }>) => items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
      assert.deepEqual(names(await cache.list('BackupPolicy', 'shop')), ['shop/hourly', 'shop/nightly']);
      assert.deepEqual(names(await cache.list('BackupPolicy')), names((await store.list('BackupPolicy')).items));
      await store.delete('BackupPolicy', 'shop', 'hourly', ctx);
      assert.deepEqual(names(await cache.list('BackupPolicy', 'shop')), ['shop/nightly']);
      assert.deepEqual(await cache.list('BackupPolicy', 'nowhere'), []);
    });

    it('answers copies: a caller that changes one changes nothing for the next', async () => {
      await store.create(server('edge-2', '10.0.0.3'), ctx);
      const first = (await cache.get('Server', undefined, 'edge-2'))!;
      first.spec!.host = 'changed by a caller';
      assert.equal((await cache.get('Server', undefined, 'edge-2'))?.spec?.host, '10.0.0.3');
    });

    it('keeps a change made while its first list was under way', async () => {
      await store.create(server('edge-3', '10.0.0.4'), ctx);
      // A cache that starts after the create has to list Servers, and the list is held at the gate.
      const late = new ObjectCache(store, ['Server']);
      let open!: () => void;
      gate = new Promise<void>((ok) => (open = ok));
      storeReads = 0;
      const reading = late.get('Server', undefined, 'edge-3');
      await new Promise((ok) => setTimeout(ok, 50));
      gate = undefined;
      assert.equal(storeReads, 1);
      // The list has its answer (edge-3 at 10.0.0.4) and waits; a write commits meanwhile.
      const current = await store.mustGet('Server', undefined, 'edge-3');
      await store.replace({ ...current, spec: { ...current.spec!, host: '10.0.0.5' } }, ctx);
      open();
      assert.equal((await reading)?.spec?.host, '10.0.0.5', 'the change heard during the list is applied over it');
      assert.equal((await late.get('Server', undefined, 'edge-3'))?.spec?.host, '10.0.0.5');
      late.close();
    });
  });
}
