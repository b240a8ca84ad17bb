// Fencing tokens on both stores: work started under a shard lease's token writes while the lease is
// still its holder's; once another replica has taken the lease, every late write of that work (an
// object, a deployment record, a deployment log line, a drift record, also after awaits and timers) is refused, and
// nothing the new holder wrote is overwritten.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import type { Database } from '../../../store/database.js';
import { DeploymentStore } from '../../../store/deployments.js';
import { DriftStore } from '../../../store/drift.js';
import { FencedWrite, withFencingToken, type FencingToken } from '../../../store/fencing.js';
import { ResourceStore } from '../../../store/resource-store.js';
import { DRIVERS } from '../../support/stores.js';
import { partialFrozen } from '../../support/frozen.js';

const SYSTEM = { actor: 'system:test' };
const LEASE = 'shard-3';
const project = (name: string, env: string): Resource => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { environments: [{ name: env }] } });
const refused = (err: unknown) => err instanceof FencedWrite && err.reason === 'Conflict' && /lease shard-3 held by replica-a \(transitions 0\), which is now held by replica-b \(transitions 1\)/.test(err.message);

for (const driver of DRIVERS) {
  describe(`fencing tokens on ${driver.name}`, () => {
    let database: Database;
    let store: ResourceStore;
    let deployments: DeploymentStore;
    const a: FencingToken = { lease: LEASE, holder: 'replica-a', transitions: 0 };
    const b: FencingToken = { lease: LEASE, holder: 'replica-b', transitions: 1 };
    const takeOver = async (holder: string, transitions: number) => {
      const lease = await store.mustGet('Lease', undefined, LEASE);
      await store.replace({ ...lease, spec: { ...lease.spec, holderIdentity: holder, leaseTransitions: transitions } }, SYSTEM);
    };

    before(async () => {
      database = await driver.open();
      store = new ResourceStore(database.db, { shared: driver.name === 'postgres' });
      deployments = new DeploymentStore(database.db);
      await store.create({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Lease', metadata: { name: LEASE }, spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, leaseTransitions: 0 } }, SYSTEM);
    });
    after(async () => database.close());

    it('writes made under the current token go through, and so does work without a token', async () => {
      await withFencingToken(a, () => store.create(project('fenced', 'by-a'), SYSTEM));
      const d = await withFencingToken(a, () => deployments.create({ service: { uid: 'u1', namespace: 'shop', name: 'web' }, generation: 1, trigger: 'api', actor: SYSTEM.actor, server: 'edge', frozen: partialFrozen(), specHash: 'h', deadlineMs: 60_000 }));
      await withFencingToken(a, () => deployments.appendLog(d.id, 'deploy', ['by a']));
      await withFencingToken(a, () => deployments.checkFencingToken());
      await store.create(project('unfenced', 'api'), SYSTEM);
    });

    it('once another replica holds the lease, the old holder\'s late writes are refused, even from work started before', async () => {
      const [d] = await deployments.listForService('shop', 'web');
      // Work started under the old token that writes only after the takeover (a paused replica resuming).
      let resume!: () => void;
      const paused = new Promise<void>((ok) => (resume = ok));
      const late = withFencingToken(a, async () => {
        await paused;
        await new Promise((ok) => setTimeout(ok, 10));
        await store.replace({ ...(await store.mustGet('Project', undefined, 'fenced')), spec: { environments: [{ name: 'late-a' }] } }, SYSTEM);
      });
      await takeOver('replica-b', 1);
      resume();
      await assert.rejects(late, refused);
      const project0 = await store.mustGet('Project', undefined, 'fenced');
      await withFencingToken(b, () => store.replace({ ...project0, spec: { environments: [{ name: 'by-b' }] } }, SYSTEM));
      const byB = await store.mustGet('Project', undefined, 'fenced');

      await assert.rejects(withFencingToken(a, () => store.replace({ ...byB, spec: { environments: [{ name: 'late-a' }] } }, SYSTEM)), refused);
      await assert.rejects(withFencingToken(a, () => store.replaceStatus({ ...byB, status: { observedGeneration: 9 } }, SYSTEM)), refused);
      await assert.rejects(withFencingToken(a, () => store.delete('Project', undefined, 'fenced', SYSTEM)), refused);
      await assert.rejects(withFencingToken(a, () => deployments.setPhase(d.id, 'failed', { reason: 'Late' })), refused);
      await assert.rejects(withFencingToken(a, () => deployments.appendLog(d.id, 'deploy', ['late a'])), refused);
      await assert.rejects(withFencingToken(a, () => deployments.checkFencingToken()), refused);
      const drift = new DriftStore(database.db);
      await assert.rejects(withFencingToken(a, () => drift.record({ uid: 'u1', namespace: 'shop', name: 'web' }, [], ['live-vs-frozen'])), refused);
      await withFencingToken(b, () => drift.record({ uid: 'u1', namespace: 'shop', name: 'web' }, [], ['live-vs-frozen']));

      const now = await store.mustGet('Project', undefined, 'fenced');
      assert.deepEqual(now.spec, { environments: [{ name: 'by-b' }] }, 'nothing the new holder wrote is overwritten');
      assert.equal(now.metadata.resourceVersion, byB.metadata.resourceVersion);
      assert.equal((await deployments.mustGet(d.id)).phase, 'queued');
      assert.deepEqual((await deployments.logsSince(d.id)).map((l) => l.line), ['by a']);
      await withFencingToken(b, () => deployments.setPhase(d.id, 'completed'));
    });

    it('a released lease fences its last holder too', async () => {
      const lease = await store.mustGet('Lease', undefined, LEASE);
      const { holderIdentity: _b, ...released } = lease.spec as Record<string, unknown>;
      await store.replace({ ...lease, spec: released }, SYSTEM);
      await assert.rejects(withFencingToken(b, () => store.create(project('after-release', 'b'), SYSTEM)), (err: unknown) => err instanceof FencedWrite && /not held by it/.test(err.message));
      assert.equal(await store.get('Project', undefined, 'after-release'), undefined);
    });
  });
}
