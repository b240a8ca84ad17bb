// Service reconciliation end to end on a real test host: apply → running and answering; a change
// rolls out; a failing healthcheck rolls back while the old container keeps serving; delete leaves
// nothing with Holdfast's labels.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PORT = 18480;

/** An unconditional update: the controller writes status meanwhile, which moves resourceVersion. */
function withoutVersion(obj: Resource) {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return metadata;
}

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}

describe('service rollout on a real Docker host', () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const serviceUrl = () => `http://${host.address}:${PORT}/`;
  const svcPath = `${G}/namespaces/shop/services/web`;
  const service = (env: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      environment: 'production',
      server: 'edge',
      source: { image: 'holdfast-test/busybox:1' },
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      env: [
        { name: 'GREETING', value: env },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      ],
      ports: [{ containerPort: 8080, hostPort: PORT }],
      healthcheck: { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 },
      update: { order: 'stop-first', healthDeadlineSeconds: 20, autoRollback: true },
      ...extra,
    },
  });

  const deploymentsOf = async () => (await cp.call('GET', `${svcPath}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; reason?: string; message?: string }>;
  const waitDeployment = (revision: number) =>
    until(`deployment revision ${revision} to end`, async () => {
      const d = (await deploymentsOf()).find((x) => x.revision === revision);
      return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
    });
  const managed = async () => (await hostDocker(host, 'ps', '-a', '--filter', 'label=holdfast.dev/service=web', '--filter', 'label=holdfast.dev/project=shop', '--format', '{{.Names}}')).split('\n').filter(Boolean);

  before(async () => {
    const hosts = await loadTestHosts({ count: 2 });
    host = testHost(hosts, 2);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: 'shop' });
    const create = async (path: string, body: unknown) => {
      const res = await cp.call('POST', path, body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    await create(`${G}/namespaces/shop/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, spec: { stringData: { password: 's3cret-value-1' } } });
  });
  after(async () => {
    await cp?.stop();
    for (const name of await managed().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
  });

  it('runs a declared image service that answers on its published port', async () => {
    assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, service('hello'))).status, 201);
    const d = await waitDeployment(1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    const res = await until('HTTP 200', async () => {
      const r = await httpGet(serviceUrl());
      return r.status === 200 ? r : undefined;
    });
    assert.equal(res.status, 200);
    const env = await hostDocker(host, 'inspect', '--format', '{{json .Config.Env}}', 'hf_shop_production_web_1');
    assert.match(env, /GREETING=hello/);
    assert.match(env, /DB_PASSWORD=s3cret-value-1/, 'the secret value reaches the container');
    const labels = JSON.parse(await hostDocker(host, 'inspect', '--format', '{{json .Config.Labels}}', 'hf_shop_production_web_1'));
    assert.equal(labels['holdfast.dev/managed-by'], 'holdfast');
    assert.equal(labels['holdfast.dev/project'], 'shop');
    const svc = await until('Ready=True', async () => {
      const s = (await cp.call('GET', svcPath)).body as Resource;
      return s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? s : undefined;
    });
    assert.equal(svc.status!.observedGeneration, 1);
    assert.equal((svc.status as Record<string, unknown>).readyReplicas, 1);
    const logs = await cp.call('GET', `${G}/deployments/${d.id}/logs`);
    assert.doesNotMatch(String(logs.body), /s3cret-value-1/, 'deployment logs never carry secret values');
  });

  it('rolls an env change out as a new revision', async () => {
    const current = (await cp.call('GET', svcPath)).body as Resource;
    const res = await cp.call('PUT', svcPath, { ...service('bonjour'), metadata: withoutVersion(current) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = await waitDeployment(2);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    const env = await hostDocker(host, 'inspect', '--format', '{{json .Config.Env}}', 'hf_shop_production_web_1');
    assert.match(env, /GREETING=bonjour/);
    assert.equal((await httpGet(serviceUrl())).status, 200);
    assert.deepEqual(await managed(), ['hf_shop_production_web_1'], 'exactly one container, no leftovers');
  });

  it('rolls back automatically when the new version never becomes healthy, and the old one keeps serving', async () => {
    const current = (await cp.call('GET', svcPath)).body as Resource;
    const broken = service('broken', { healthcheck: { http: { path: '/', port: 9999 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 }, update: { order: 'stop-first', healthDeadlineSeconds: 5, autoRollback: true } });
    assert.equal((await cp.call('PUT', svcPath, { ...broken, metadata: withoutVersion(current) })).status, 200);
    const d = await waitDeployment(3);
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'HealthCheckFailed');
    assert.match(d.message!, /rolled back to revision 2/);
    const env = await hostDocker(host, 'inspect', '--format', '{{json .Config.Env}}', 'hf_shop_production_web_1');
    assert.match(env, /GREETING=bonjour/, 'revision 2 runs again');
    assert.equal((await until('HTTP 200 after rollback', async () => ((await httpGet(serviceUrl())).status === 200 ? true : undefined))), true);
    // The Service's status follows the deployment's end within seconds, not in the same instant.
    const degraded = await until('Degraded=True on the Service', async () => {
      const svc = (await cp.call('GET', svcPath)).body as Resource;
      const c = svc.status?.conditions?.find((cond) => cond.type === 'Degraded');
      return c?.status === 'True' ? c : undefined;
    }, 15_000);
    assert.equal(degraded.reason, 'HealthCheckFailed');
  });

  it('deletes what it made for the Service and nothing else', async () => {
    await hostDocker(host, 'run', '-d', '--name', 'bystander-web', 'holdfast-test/busybox:1');
    try {
      assert.equal((await cp.call('DELETE', svcPath)).status, 202, 'held by the cleanup finalizer first');
      await until('the Service to be gone', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined));
      assert.deepEqual(await managed(), []);
      assert.match(await hostDocker(host, 'ps', '--format', '{{.Names}}'), /bystander-web/, 'an unmanaged container is untouched');
    } finally {
      await hostDocker(host, 'rm', '-f', 'bystander-web').catch(() => undefined);
    }
  });

  it('asks every container of a deleted Service to stop at once, each with its own grace period', async () => {
    // `sleep` as a container's first process ignores SIGTERM: each stop lasts its whole grace period.
    const sleeper = { image: 'holdfast-test/busybox:1', command: ['sleep', '600'], stop_grace_period: '2s' };
    const path = `${G}/namespaces/shop/services/sleepers`;
    const body = {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'sleepers', namespace: 'shop' },
      spec: { environment: 'production', server: 'edge', source: { compose: { inline: { services: { a: sleeper, b: sleeper } } } } },
    };
    assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, body)).status, 201);
    await until('the sleepers rolled out', async () => {
      const items = (await cp.call('GET', `${path}/deployments`)).body.items as Array<{ phase: string }>;
      return items.some((d) => d.phase === 'completed') ? true : undefined;
    }, 60_000);
    const since = Math.floor(Date.now() / 1000) - 1;
    assert.equal((await cp.call('DELETE', path)).status, 202);
    await until('the sleepers to be gone', async () => ((await cp.call('GET', path)).status === 404 ? true : undefined), 30_000);
    const until_ = Math.ceil(Date.now() / 1000) + 1;
    const events = (await hostDocker(host, 'events', '--since', String(since), '--until', String(until_), '--filter', 'type=container', '--filter', 'label=holdfast.dev/service=sleepers', '--format', '{{.Action}} {{index .Actor.Attributes "name"}} {{index .Actor.Attributes "signal"}}'))
      .split('\n')
      .filter((line) => /^(kill|die) /.test(line));
    const terms = events.flatMap((line, i) => (/^kill .* 15$/.test(line) ? [i] : []));
    const firstDie = events.findIndex((line) => line.startsWith('die '));
    assert.equal(terms.length, 2, `both containers got SIGTERM:\n${events.join('\n')}`);
    assert.ok(firstDie > Math.max(...terms), `both got SIGTERM before either ended (one after the other, the second waits out the first's grace period):\n${events.join('\n')}`);
  });
});

describe('start-first rollout with a client polling throughout', () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const svcPath = `${G}/namespaces/live/services/site`;
  const compose = (greeting: string) => ({
    services: {
      web: {
        image: 'holdfast-test/busybox:1',
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        environment: { GREETING: greeting },
        // busybox nc, not wget: the static busybox of the test image has a wget that crashes.
        healthcheck: { test: ['CMD-SHELL', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 1 127.0.0.1 8080 | grep -q "200 OK"'], interval: '1s', timeout: '2s', retries: 3 },
      },
      client: {
        image: 'holdfast-test/busybox:1',
        // Polls the web service by its network alias ten times a second. Like an HTTP client facing a
        // refused connection, it tries once more after 100 ms: the old container leaves the network
        // an instant before it stops, and a request already resolved to it in that instant is refused.
        command: ['sh', '-c', 'get() { printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 web 8080 | grep -q "200 OK"; }; while true; do if get || { sleep 0.1; get; }; then echo OK; else echo FAIL; fi; sleep 0.1; done'],
        depends_on: { web: { condition: 'service_healthy' } },
      },
    },
  });
  const service = (greeting: string) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'site', namespace: 'live' },
    spec: { environment: 'production', server: 'edge', source: { compose: { inline: compose(greeting) } }, update: { order: 'start-first', healthDeadlineSeconds: 30, autoRollback: true } },
  });
  const deployment = async (revision: number) =>
    until(`revision ${revision}`, async () => {
      const items = (await cp.call('GET', `${svcPath}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; message?: string }>;
      const d = items.find((x) => x.revision === revision);
      return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
    });

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: 'live' });
  });
  after(async () => {
    await cp?.call('DELETE', svcPath).catch(() => undefined);
    await until('cleanup', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 30_000).catch(() => undefined);
    await cp?.stop();
  });

  it('replaces the web container start-first and the polling client sees no failed request', async () => {
    assert.equal((await cp.call('POST', `${G}/namespaces/live/services`, service('one'))).status, 201);
    assert.equal((await deployment(1)).phase, 'completed');
    const client = 'hf_live_production_site_client_1';
    await until('the client to poll successfully', async () => ((await hostDocker(host, 'logs', client)).includes('OK') ? true : undefined), 20_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}; client logs: ${(await hostDocker(host, 'logs', '--tail', '5', client).catch((e) => String(e))).slice(0, 500)}; containers: ${await hostDocker(host, 'ps', '-a', '--format', '{{.Names}} {{.Status}}')}`);
    });
    const since = new Date().toISOString();
    const current = (await cp.call('GET', svcPath)).body as Resource;
    assert.equal((await cp.call('PUT', svcPath, { ...service('two'), metadata: withoutVersion(current) })).status, 200);
    const d = await deployment(2);
    assert.equal(d.phase, 'completed', d.message);
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    const created = logs.indexOf('create hf_live_production_site_web_1.next');
    const stopped = logs.indexOf('stop hf_live_production_site_web_1');
    assert.ok(created >= 0 && stopped > created, `the new container starts before the old one stops:\n${logs}`);
    assert.match(logs, /stop hf_live_production_site_web_1 \(.+, then SIGKILL after \d+ s\): /, 'the stop says its signal and grace period');
    await new Promise((ok) => setTimeout(ok, 1000));
    const polled = (await hostDocker(host, 'logs', '--since', since, client)).split('\n').filter(Boolean);
    assert.ok(polled.filter((l) => l === 'OK').length > 10, `the client kept polling (${polled.length} lines)`);
    assert.deepEqual(polled.filter((l) => l !== 'OK'), [], 'no failed request during the rollout');
    const env = await hostDocker(host, 'inspect', '--format', '{{json .Config.Env}}', 'hf_live_production_site_web_1');
    assert.match(env, /GREETING=two/);
  });
});
