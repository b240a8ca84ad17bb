// A Service's status follows what its host does, on a real test host: a stopped container makes it
// not ready within a second; a readiness probe broken after the rollout makes it not ready within
// interval × failureThreshold + 1 s, and fixed, ready again; a container that keeps exiting 3 is a
// CrashLoopBackOff with its exit code and its last log lines in an Event; a rollout that failed its
// probe, applied again, checks the probe again instead of saying there is nothing to do; a rollout
// superseded by a newer generation ends Canceled, reason Superseded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'health';
const PORT = 18487;
const WEB = `hf_${NS}_production_web_1`;

type Condition = { type: string; status: string; reason: string; message: string };

describe('Service status from observation on a real Docker host', { timeout: 300_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const svcPath = (name: string) => `${G}/namespaces/${NS}/services/${name}`;
  const web = (healthcheck: Record<string, unknown>, update: Record<string, unknown> = {}) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: {
      environment: 'production',
      server: 'edge',
      source: { image: 'holdfast-test/busybox:1' },
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      ports: [{ containerPort: 8080, hostPort: PORT }],
      healthcheck,
      update: { order: 'stop-first', healthDeadlineSeconds: 20, autoRollback: false, ...update },
    },
  });
  const goodProbe = { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 };

  const ready = async (name: string) => {
    const svc = (await cp.call('GET', svcPath(name))).body as Resource;
    const condition = svc.status?.conditions?.find((c) => c.type === 'Ready') as Condition | undefined;
    const status = svc.status as { readyReplicas?: number; replicas?: number } | undefined;
    return { condition, readyReplicas: status?.readyReplicas, replicas: status?.replicas };
  };
  const readyBecomes = (name: string, status: 'True' | 'False', reason?: string, ms = 30_000, everyMs = 50) =>
    until(`${name} Ready=${status}${reason ? ` (${reason})` : ''}`, async () => {
      const r = await ready(name);
      return r.condition?.status === status && (!reason || r.condition.reason === reason) ? r : undefined;
    }, ms, everyMs);
  const deploymentsOf = async (name: string) => (await cp.call('GET', `${svcPath(name)}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; reason?: string; message?: string }>;
  const deploymentEnds = (name: string, revision: number) =>
    until(`${name} revision ${revision} to end`, async () => {
      const d = (await deploymentsOf(name)).find((x) => x.revision === revision);
      return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
    });
  const logOf = async (id: string) => {
    const res = await cp.call('GET', `${G}/deployments/${id}/logs`);
    return typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  };
  const put = async (name: string, body: { metadata: Record<string, unknown>; spec: unknown }) => {
    const current = (await cp.call('GET', svcPath(name))).body as Resource;
    const { resourceVersion: _rv, ...metadata } = current.metadata;
    const res = await cp.call('PUT', svcPath(name), { ...body, metadata: { ...metadata, ...body.metadata } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const managed = async () => (await hostDocker(host, 'ps', '-a', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);

  before(async () => {
    const hosts = await loadTestHosts({ count: 2 });
    host = testHost(hosts, 2);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: NS });
    assert.equal((await cp.call('POST', `${G}/namespaces/${NS}/services`, web(goodProbe))).status, 201);
    const d = await deploymentEnds('web', 1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
  });
  after(async () => {
    await cp?.stop();
    for (const name of await managed().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
  });

  it('is Ready 1/1 once its probe passes, and not ready within a second of a stop', async () => {
    const r = await readyBecomes('web', 'True', 'Available');
    assert.deepEqual([r.readyReplicas, r.replicas], [1, 1]);
    await hostDocker(host, 'stop', '-t', '0', WEB);
    const stopped = Date.now();
    const after = await readyBecomes('web', 'False', 'ReplicasNotRunning', 5000, 20);
    const elapsed = Date.now() - stopped;
    assert.ok(elapsed <= 1000, `Ready turned False ${elapsed} ms after the stop`);
    assert.match(after.condition!.message, /^0\/1 replicas ready on edge; hf_health_production_web_1: exited \(exit code \d+\)/);
    assert.equal(after.readyReplicas, 0);
    await hostDocker(host, 'start', WEB);
    await readyBecomes('web', 'True', 'Available', 10_000);
  });

  it('is not ready within interval × failureThreshold + 1 s of its probe breaking, and ready again once fixed', async () => {
    await readyBecomes('web', 'True');
    await hostDocker(host, 'exec', WEB, 'mv', '/www/index.html', '/www/moved.html');
    const broken = Date.now();
    const r = await readyBecomes('web', 'False', 'ProbeFailing', 10_000);
    const elapsed = Date.now() - broken;
    // interval 1 s × failureThreshold 2 + 1 s, and the probe's own timeout of 1 s for the attempt under way.
    assert.ok(elapsed <= 4000, `Ready turned False ${elapsed} ms after the probe broke`);
    assert.match(r.condition!.message, /2 consecutive probe failures \(failureThreshold 2\): GET http:\/\/[\d.]+:8080\/ answered 40\d/);
    await hostDocker(host, 'exec', WEB, 'mv', '/www/moved.html', '/www/index.html');
    await readyBecomes('web', 'True', 'Available', 5000);
  });

  it('a new generation that changes nothing a deployment sees (the drift policy) stays Ready, with no deployment', async () => {
    await readyBecomes('web', 'True', 'Available');
    const before = (await deploymentsOf('web')).length;
    const spec = { ...web(goodProbe).spec, driftPolicy: { mode: 'report' } };
    await put('web', { metadata: {}, spec });
    const svc = await until('the new generation observed', async () => {
      const s = (await cp.call('GET', svcPath('web'))).body as Resource;
      return s.status?.observedGeneration === s.metadata.generation ? s : undefined;
    }, 15_000);
    const r = await ready('web');
    assert.deepEqual([r.condition?.status, r.condition?.reason], ['True', 'Available'], `generation ${svc.metadata.generation}: ${r.condition?.message}`);
    assert.equal((await deploymentsOf('web')).length, before, 'nothing to deploy');
  });

  it('re-applying after a rollout that failed its probe checks the probe again, never "nothing to do"', async () => {
    const wrongPort = { http: { path: '/', port: 9999 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 };
    await put('web', web(wrongPort, { healthDeadlineSeconds: 4 }));
    const failed = await deploymentEnds('web', 2);
    assert.equal(failed.phase, 'failed');
    assert.equal(failed.reason, 'HealthCheckFailed');
    assert.match(failed.message!, /consecutive probe failures \(failureThreshold 2\)/);
    const log = await logOf(failed.id);
    assert.match(log, /probe \d+ failed: GET [\d.]+:9999: .*; deadline in \d+ s/);

    // Only the probe interval changes: the container stays as it is, and its probe runs again.
    await put('web', web({ ...wrongPort, intervalSeconds: 2 }, { healthDeadlineSeconds: 4 }));
    const again = await deploymentEnds('web', 3);
    assert.equal(again.phase, 'failed', 'the probe still fails: the rollout must say so');
    const againLog = await logOf(again.id);
    assert.doesNotMatch(againLog, /nothing to do/);
    assert.match(againLog, /already runs this input: 1 replica\(s\) to check/);

    await put('web', web(goodProbe));
    const fixed = await deploymentEnds('web', 4);
    assert.equal(fixed.phase, 'completed', `${fixed.reason}: ${fixed.message}`);
    await readyBecomes('web', 'True', 'Available', 10_000);
  });

  it('a deployment superseded by a newer generation ends Canceled, reason Superseded, naming the newer one', async () => {
    const before = (await deploymentsOf('web')).length;
    await put('web', web({ http: { path: '/', port: 9999 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 }, { healthDeadlineSeconds: 60 }));
    const slow = await until('the slow rollout to wait for its probe', async () => {
      const d = (await deploymentsOf('web')).find((x) => x.revision === before + 1);
      return d && d.phase === 'deploy' ? d : undefined;
    });
    await put('web', web(goodProbe));
    const superseded = await deploymentEnds('web', before + 1);
    const newer = (await deploymentsOf('web')).find((x) => x.revision === before + 2);
    assert.ok(newer, 'the newer generation was queued');
    assert.equal(superseded.id, slow.id);
    assert.equal(superseded.phase, 'canceled');
    assert.equal(superseded.reason, 'Superseded');
    assert.match(superseded.message!, new RegExp(`superseded by deployment ${newer.id}`));
    const done = await deploymentEnds('web', before + 2);
    assert.equal(done.phase, 'completed', `${done.reason}: ${done.message}`);
    await readyBecomes('web', 'True', 'Available', 10_000);
  });

  it('a container that keeps exiting 3 is CrashLoopBackOff with the exit code, and an Event carries its last log lines', async () => {
    const created = Date.now();
    const res = await cp.call('POST', `${G}/namespaces/${NS}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'crasher', namespace: NS },
      spec: {
        environment: 'production',
        server: 'edge',
        source: { image: 'holdfast-test/busybox:1' },
        command: ['sh', '-c', 'echo "starting the crasher"; exit 3'],
        restartPolicy: 'unless-stopped',
        update: { order: 'stop-first', healthDeadlineSeconds: 20, autoRollback: false },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const r = await readyBecomes('crasher', 'False', 'CrashLoopBackOff', 15_000);
    assert.ok(Date.now() - created <= 10_000, `CrashLoopBackOff after ${Date.now() - created} ms`);
    assert.match(r.condition!.message, /hf_health_production_crasher_1: restarted \d+ times, last exit code 3/);
    assert.equal(r.readyReplicas, 0);
    const events = await until('a CrashLoopBackOff event', async () => {
      const list = (await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items as Array<{ reason: string; message: string; involvedObject: { name: string } }>;
      return list.find((e) => e.reason === 'CrashLoopBackOff' && e.involvedObject.name === 'crasher');
    }, 15_000);
    assert.match(events.message, /last exit code 3/);
    assert.match(events.message, /starting the crasher/);
    const d = await deploymentEnds('crasher', 1);
    assert.notEqual(d.phase, 'completed', 'a crash-looping container never completes a rollout');
  });
});
