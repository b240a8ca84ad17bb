import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../../store/database.js';
import { BuildContextStore, DigestMismatch } from '../../../store/build-contexts.js';
import { DeploymentStore } from '../../../store/deployments.js';
import { DRIVERS } from '../../support/stores.js';
import { partialFrozen } from '../../support/frozen.js';

const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

for (const driver of DRIVERS) {
  describe(`build context store on ${driver.name}`, () => {
    let database: Database;
    let now = new Date('2026-11-26T10:00:00Z');
    let store: BuildContextStore;
    before(async () => {
      database = await driver.open();
      store = new BuildContextStore(database.db, () => now);
    });
    after(async () => database.close());

    it('stores a tar of several pieces once and gives back the same bytes', async () => {
      const tar = randomBytes(2.5 * 1024 * 1024);
      const digest = digestOf(tar);
      const first = await store.put('shop', digest, tar);
      assert.equal(first.created, true);
      assert.equal(first.info.size, tar.length);
      const again = await store.put('shop', digest, tar);
      assert.equal(again.created, false, 'the same digest is stored once');
      assert.deepEqual(await store.read('shop', digest), tar);
      assert.equal(await store.read('other', digest), undefined, 'a namespace sees only its own contexts');
      assert.equal(await store.get('shop', digestOf(Buffer.from('absent'))), undefined);
    });

    it('stores an empty tar and concurrent uploads of one digest alike', async () => {
      const empty = Buffer.alloc(0);
      assert.equal((await store.put('shop', digestOf(empty), empty)).created, true);
      assert.deepEqual(await store.read('shop', digestOf(empty)), empty);
      const tar = randomBytes(1500);
      const results = await Promise.all([1, 2, 3].map(() => store.put('race', digestOf(tar), tar)));
      assert.ok(results.filter((r) => r.created).length <= 1, 'at most one upload creates it');
      assert.deepEqual(await store.read('race', digestOf(tar)), tar);
    });

    it('refuses bytes that are not what the digest names', async () => {
      const tar = Buffer.from('not what the digest says');
      await assert.rejects(store.put('shop', digestOf(Buffer.from('other')), tar), DigestMismatch);
      assert.equal(await store.get('shop', digestOf(Buffer.from('other'))), undefined);
    });

    it('prunes contexts nothing names after they went unused, keeps the rest', async () => {
      now = new Date('2026-11-26T10:00:00Z');
      const named = Buffer.from('named by a service');
      const frozenIn = Buffer.from('named by a deployment');
      const orphan = Buffer.from('named by nothing');
      const fresh = Buffer.from('uploaded just now');
      for (const t of [named, frozenIn, orphan]) await store.put('prune', digestOf(t), t);
      const deployments = new DeploymentStore(database.db);
      await deployments.create({
        service: { uid: 'svc-prune', namespace: 'prune', name: 'app' },
        generation: 1,
        trigger: 'user',
        actor: 'token:admin',
        server: 'edge-1',
        frozen: partialFrozen({ containers: [], components: [{ name: 'web', build: { context: 'app', contextDigest: digestOf(frozenIn) } }] }),
        specHash: 'sha256:prune',
        deadlineMs: 60_000,
      });
      now = new Date('2026-11-27T10:00:00Z');
      await store.put('prune', digestOf(fresh), fresh);
      const removed = await store.prune(new Date('2026-11-27T09:00:00Z'), async (namespace, digest) => {
        if (namespace !== 'prune' || digest === digestOf(named)) return true;
        return store.deploymentsReference(namespace, digest);
      });
      assert.deepEqual(removed, [{ namespace: 'prune', digest: digestOf(orphan) }]);
      const left = (await store.list()).filter((c) => c.namespace === 'prune').map((c) => c.digest).sort();
      assert.deepEqual(left, [digestOf(named), digestOf(frozenIn), digestOf(fresh)].sort());
      assert.equal(await store.read('prune', digestOf(orphan)), undefined);
      let asked = 0;
      await store.prune(new Date('2026-11-27T09:00:00Z'), async () => (asked++, true));
      assert.equal(asked, 0, 'contexts found named count as used: they are not asked about again at once');
      assert.equal(await store.deploymentsReference('elsewhere', digestOf(frozenIn)), false, 'a deployment names contexts of its own namespace only');
    });
  });
}
