// Two control planes on one PostgreSQL, servers sharded over both: a sync or a rollback taken by
// either replica is queued as a record and run by the replica that holds the Service's shard, under
// that shard's fencing token; the other replica runs no deployment and talks to no host.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'sharded';

/** The deployments this replica ran to an end, from its /metrics. */
async function deploymentsRun(cp: TestControlPlane): Promise<number> {
  const res = await fetch(`${cp.url}/metrics`, { headers: { authorization: `Bearer ${cp.token}` } });
  const text = await res.text();
  return [...text.matchAll(/^holdfast_deployments_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('a sync or rollback taken by a replica that does not hold the Service\'s shard', () => {
  let first: TestControlPlane;
  let second: TestControlPlane;
  let host: TestHost;
  const svcPath = `${G}/namespaces/${NS}/services/web`;

  before(async () => {
    host = testHost(await loadTestHosts({ count: 1 }), 1);
    first = await startTestControlPlane('postgres', { env: { HOLDFAST_REPLICA_ID: 'replica-a' } });
    second = await startTestControlPlane('postgres', { join: first, env: { HOLDFAST_REPLICA_ID: 'replica-b' } });
    // The default leases (15 s): shards stay where they are once spread, however loaded the machine.
    await until('the shards spread over both replicas', async () => {
      const leases = (await first.call('GET', `${G}/leases`)).body.items as Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }>;
      const holders = new Set(leases.filter((l) => l.metadata.name.startsWith('shard-')).map((l) => l.spec.holderIdentity));
      return holders.has('replica-a') && holders.has('replica-b') ? true : undefined;
    }, 60_000);
    await createFleet(first, host, { project: NS });
    const res = await first.call('POST', `${G}/namespaces/${NS}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS },
      spec: { environment: 'production', server: 'edge', source: { image: 'holdfast-test/busybox:1' }, command: ['sleep', '86400'] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await until('the first deployment', async () => ((await first.call('GET', `${svcPath}/deployments`)).body.items[0]?.phase === 'completed' ? true : undefined), 120_000);
  });

  after(async () => {
    await first?.call('DELETE', svcPath).catch(() => undefined);
    await until('the Service removed', async () => ((await first.call('GET', svcPath)).status === 404 ? true : undefined), 60_000).catch(() => undefined);
    await second?.stop();
    await first?.stop();
  });

  it('is run by the shard holder alone, whichever replica took it', async () => {
    const completed = async (cp: TestControlPlane, action: 'sync' | 'rollback', revision: number) => {
      const res = await cp.call('POST', `${svcPath}/${action}`, action === 'rollback' ? { toRevision: 1 } : {});
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.revision, revision);
      const done = await until(`${action} revision ${revision}`, async () => {
        const d = (await cp.call('GET', `${G}/deployments/${res.body.id}`)).body;
        return ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
      }, 120_000);
      assert.equal(done.phase, 'completed', done.message);
    };
    await completed(first, 'sync', 2);
    await completed(second, 'sync', 3);
    await completed(second, 'rollback', 4);
    await completed(first, 'rollback', 5);
    const ran = [await deploymentsRun(first), await deploymentsRun(second)].sort();
    assert.deepEqual(ran, [0, 5], 'one replica ran all five deployments, the other none');
  });

  it('refuses a second request while the first is queued or running on the other replica', async () => {
    const res = await first.call('POST', `${svcPath}/sync`, {});
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const again = await second.call('POST', `${svcPath}/sync`, {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.match(again.body.message, new RegExp(`deployment ${res.body.id} of service ${NS}/web is still `));
    await until('the sync to end', async () => (['completed', 'failed'].includes((await first.call('GET', `${G}/deployments/${res.body.id}`)).body.phase) ? true : undefined), 120_000);
  });
});
