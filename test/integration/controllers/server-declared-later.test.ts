// A Service declared before its Server (a GitOps repository applied in any order, a typo fixed
// later) waits without polling: the drift controller does not look every few seconds for a Server
// that does not exist (50 such Services cost a quarter of a core), and the Server's creation is what
// brings the Service to life, on a real test host.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'later';
const PORT = 18479;

/** Reconciles the drift controller has finished, all outcomes together, from /metrics. */
async function driftReconciles(cp: TestControlPlane): Promise<number> {
  const text = String((await cp.call('GET', '/metrics')).body);
  let total = 0;
  for (const m of text.matchAll(/^holdfast_reconcile_duration_seconds_count\{controller="drift",[^}]*\} (\d+)$/gm)) total += Number(m[1]);
  return total;
}

describe('a Service whose Server is declared later', { timeout: 240_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;

  before(async () => {
    host = testHost(await loadTestHosts({ count: 3 }), 3);
    cp = await startTestControlPlane('pglite');
  });
  after(async () => {
    if (!cp) return;
    await cp.call('DELETE', `${G}/namespaces/${NS}/services/web`).catch(() => undefined);
    await until('the Service to be deleted', async () => ((await cp.call('GET', `${G}/namespaces/${NS}/services/web`)).status === 404 ? true : undefined), 60_000).catch(() => undefined);
    await cp.stop();
  });

  it('is not looked at again while its Server does not exist, and runs once the Server is declared', async () => {
    const project = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } };
    assert.equal((await cp.call('POST', `${G}/projects`, project)).status, 201);
    const service = {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS },
      spec: { environment: 'production', server: 'edge', source: { image: 'holdfast-test/busybox:1' }, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], ports: [{ containerPort: 8080, hostPort: PORT }] },
    };
    const created = await cp.call('POST', `${G}/namespaces/${NS}/services`, service);
    assert.equal(created.status, 201, JSON.stringify(created.body));

    // The first looks happen (the Service's own status writes bring the drift controller back once
    // or twice) and say why nothing can be judged; then the counting starts.
    await until('the Service to say its Server does not exist', async () => {
      const svc = (await cp.call('GET', `${G}/namespaces/${NS}/services/web`)).body as Resource;
      const ready = svc.status?.conditions?.find((c) => c.type === 'Ready');
      const drifted = svc.status?.conditions?.find((c) => c.type === 'Drifted');
      return ready?.reason === 'ServerNotFound' && drifted ? true : undefined;
    }, 30_000);
    await new Promise((ok) => setTimeout(ok, 2000));
    const first = await driftReconciles(cp);
    // The host retry is 5 s: a missing Server polled would be looked at twice or more in this window;
    // one late look may still follow a status write of the Service.
    await new Promise((ok) => setTimeout(ok, 11_000));
    const during = (await driftReconciles(cp)) - first;
    assert.ok(during <= 1, `${during} drift reconciles in 11 s while the Server does not exist`);

    // The Server is declared (with its SSH key, beside a Project of its own): the Service rolls out and is Ready.
    await createFleet(cp, host, { project: `${NS}-fleet`, server: 'edge' });
    const ready = await until('the Service Ready on the Server declared later', async () => {
      const svc = (await cp.call('GET', `${G}/namespaces/${NS}/services/web`)).body as Resource;
      const condition = svc.status?.conditions?.find((c) => c.type === 'Ready');
      return condition?.status === 'True' ? condition : undefined;
    }, 120_000);
    assert.equal(ready.status, 'True');
    assert.ok((await driftReconciles(cp)) > first, 'the Server’s creation brought the drift controller back to the Service');
  });
});
