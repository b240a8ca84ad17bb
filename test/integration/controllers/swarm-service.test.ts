// A Service on a Swarm manager runs as a Swarm service, through the control plane on the test
// manager (host 1): created with two running tasks, an env change rolls out as a rolling update of
// the same service, deleting the Service removes the Swarm service. The image exists only on the
// host: nothing may ask a registry.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'swarmroll';
const SWARM_NAME = `hf_${PROJECT}_production_web`;
const SECRET = 'swarm-s3cret-value';
const API_NAME = `hf_${PROJECT}_production_api`;
const PUBLISHED_PORT = 18791;

function withoutVersion(obj: Resource) {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return metadata;
}

describe('a Service on a Swarm manager runs as a Swarm service', { timeout: 120_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const svcPath = `${G}/namespaces/${PROJECT}/services/web`;
  const service = (greeting: string) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'web', namespace: PROJECT },
    spec: {
      environment: 'production',
      server: 'manager',
      source: { image: 'holdfast-test/busybox:1' },
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      env: [
        { name: 'GREETING', value: greeting },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      ],
      ports: [{ containerPort: 8080 }],
      replicas: 2,
      update: { order: 'start-first', healthDeadlineSeconds: 40, autoRollback: true },
    },
  });
  const deploymentsOf = async () => (await cp.call('GET', `${svcPath}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; reason?: string; message?: string }>;
  const waitDeployment = (revision: number) =>
    until(`deployment revision ${revision} to end`, async () => {
      const d = (await deploymentsOf()).find((x) => x.revision === revision);
      return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
    }, 80_000);
  const swarmServices = async () => (await hostDocker(host, 'service', 'ls', '--filter', `name=${SWARM_NAME}`, '--format', '{{.Name}}')).split('\n').filter((n) => n === SWARM_NAME);
  const runningTasks = async () =>
    (await hostDocker(host, 'service', 'ps', SWARM_NAME, '--filter', 'desired-state=running', '--format', '{{.ID}} {{.CurrentState}}', '--no-trunc')).split('\n').filter(Boolean);
  const serviceEnv = async () => JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', SWARM_NAME)) as string[];

  before(async () => {
    const hosts = await loadTestHosts({ count: 2 });
    host = testHost(hosts, 1);
    assert.ok(host.swarmManager, 'test host 1 is a Swarm manager');
    for (const name of [SWARM_NAME, API_NAME]) await hostDocker(host, 'service', 'rm', name).catch(() => undefined);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: PROJECT, server: 'manager', kind: 'docker-swarm-manager' });
    const res = await cp.call('POST', `${G}/namespaces/${PROJECT}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: PROJECT }, spec: { stringData: { password: SECRET } } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  after(async () => {
    await cp?.stop();
    for (const name of [SWARM_NAME, API_NAME]) await hostDocker(host, 'service', 'rm', name).catch(() => undefined);
  });

  it('creates the Swarm service with two running tasks, secrets resolved only on the manager', async () => {
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, service('hello'))).status, 201);
    const d = await waitDeployment(1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    assert.deepEqual(await swarmServices(), [SWARM_NAME]);
    const tasks = await runningTasks();
    assert.equal(tasks.length, 2, tasks.join('\n'));
    for (const t of tasks) assert.match(t, /Running/);
    const env = await serviceEnv();
    assert.ok(env.includes('GREETING=hello'));
    assert.ok(env.includes(`DB_PASSWORD=${SECRET}`), 'the secret value reaches the tasks');
    const labels = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.Labels}}', SWARM_NAME)) as Record<string, string>;
    assert.equal(labels['holdfast.dev/managed-by'], 'holdfast');
    assert.equal(labels['holdfast.dev/project'], PROJECT);
    assert.match(labels['holdfast.dev/spec-hash'] ?? '', /^[0-9a-f]{64}$/);
    // A task answers on 8080 (asked from inside its own container: no port is published).
    const taskId = tasks[0]!.split(' ')[0]!;
    const container = await hostDocker(host, 'inspect', '--format', '{{.Status.ContainerStatus.ContainerID}}', taskId);
    assert.match(await hostDocker(host, 'exec', container, 'wget', '-qO-', 'http://127.0.0.1:8080/'), /\S/);
    const svc = await until('Ready=True', async () => {
      const s = (await cp.call('GET', svcPath)).body as Resource;
      return s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? s : undefined;
    }, 20_000);
    assert.equal((svc.status as Record<string, unknown>).readyReplicas, 2);
    const drifted = await until('the Drifted condition', async () => {
      const s = (await cp.call('GET', svcPath)).body as Resource;
      const c = s.status?.conditions?.find((x) => x.type === 'Drifted');
      return c && c.reason !== 'NotDeployed' ? c : undefined;
    }, 20_000);
    assert.equal(drifted.status, 'False', `no false drift from the task containers: ${drifted.message}`);
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, /create-service/);
    assert.doesNotMatch(logs, new RegExp(SECRET), 'deployment logs never carry secret values');
  });

  it('rolls an env change out as an update of the same Swarm service', async () => {
    const before = await hostDocker(host, 'service', 'inspect', '--format', '{{.ID}}', SWARM_NAME);
    const current = (await cp.call('GET', svcPath)).body as Resource;
    const res = await cp.call('PUT', svcPath, { ...service('bonjour'), metadata: withoutVersion(current) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = await waitDeployment(2);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    assert.equal(await hostDocker(host, 'service', 'inspect', '--format', '{{.ID}}', SWARM_NAME), before, 'updated in place, not recreated');
    assert.ok((await serviceEnv()).includes('GREETING=bonjour'));
    const tasks = await runningTasks();
    assert.equal(tasks.length, 2, tasks.join('\n'));
    for (const t of tasks) {
      const env = JSON.parse(await hostDocker(host, 'inspect', '--format', '{{json .Spec.ContainerSpec.Env}}', t.split(' ')[0]!)) as string[];
      assert.ok(env.includes('GREETING=bonjour'), `task ${t} runs the new spec`);
    }
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, /update-service .*rolling update start-first/);
  });

  it('reports an env change made on the manager as drift, and a sync puts the spec back', async () => {
    await hostDocker(host, 'service', 'update', '--detach', '--no-resolve-image', '--env-add', 'GREETING=hacked', SWARM_NAME);
    // The previous rollout may still show as declared-vs-frozen drift for a moment: wait for this one.
    const liveDrift = new RegExp(`services\\[${SWARM_NAME}\\]\\.env\\.GREETING changed`);
    const drifted = await until('drift on the Swarm service', async () => {
      const s = (await cp.call('GET', svcPath)).body as Resource;
      const c = s.status?.conditions?.find((x) => x.type === 'Drifted');
      return c?.status === 'True' && liveDrift.test(c.message ?? '') ? c : undefined;
    }, 30_000);
    assert.match(drifted.message ?? '', liveDrift);
    const sync = await cp.call('POST', `${svcPath}/sync`);
    assert.equal(sync.status, 201, JSON.stringify(sync.body));
    const d = await waitDeployment(sync.body.revision as number);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, /changed on the manager \(env\.GREETING\)/);
    assert.ok((await serviceEnv()).includes('GREETING=bonjour'));
    await until('drift to clear', async () => {
      const s = (await cp.call('GET', svcPath)).body as Resource;
      return s.status?.conditions?.find((x) => x.type === 'Drifted')?.status === 'False' ? true : undefined;
    }, 30_000);
  });

  it('fails a spec whose tasks fail, with their errors, and rolls the service back', async () => {
    const previous = Math.max(...(await deploymentsOf()).map((x) => x.revision));
    const current = (await cp.call('GET', svcPath)).body as Resource;
    const broken = service('broken');
    broken.spec.command = ['sh', '-c', 'exit 3'];
    const res = await cp.call('PUT', svcPath, { ...broken, metadata: withoutVersion(current) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = await waitDeployment(previous + 1);
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'TaskFailed', d.message);
    assert.match(d.message ?? '', /exit code 3|non-zero exit/);
    assert.match(d.message ?? '', new RegExp(`rolled back to revision ${previous}`), d.message);
    assert.ok((await serviceEnv()).includes('GREETING=bonjour'), 'the service runs the previous spec again');
    const tasks = await until('two running tasks of the previous spec', async () => {
      const t = await runningTasks();
      return t.length === 2 && t.every((x) => /Running/.test(x)) ? t : undefined;
    }, 30_000);
    assert.equal(tasks.length, 2);
  });

  it('scales without replacing the running tasks', async () => {
    const before = (await runningTasks()).map((t) => t.split(' ')[0]!);
    assert.equal(before.length, 2);
    const revision = Math.max(...(await deploymentsOf()).map((x) => x.revision)) + 1;
    const current = (await cp.call('GET', svcPath)).body as Resource;
    const scaled = service('bonjour');
    scaled.spec.replicas = 3;
    const res = await cp.call('PUT', svcPath, { ...scaled, metadata: withoutVersion(current) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = await waitDeployment(revision);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    const after = (await runningTasks()).map((t) => t.split(' ')[0]!);
    assert.equal(after.length, 3);
    for (const id of before) assert.ok(after.includes(id), `task ${id} kept running`);
  });

  it('publishes a port in mode host on a manager without IPVS, answering on the node', async () => {
    const path = `${G}/namespaces/${PROJECT}/services/api`;
    const api = service('published');
    api.metadata.name = 'api';
    Object.assign(api.spec, { replicas: 1, ports: [{ containerPort: 8080, hostPort: PUBLISHED_PORT }] });
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, api)).status, 201);
    const d = await until('the api deployment to end', async () => {
      const items = (await cp.call('GET', `${path}/deployments`)).body.items as Array<{ phase: string; reason?: string; message?: string }>;
      return items[0] && ['completed', 'failed', 'canceled'].includes(items[0].phase) ? items[0] : undefined;
    }, 60_000);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    const ports = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.EndpointSpec.Ports}}', API_NAME)) as Array<{ PublishMode: string; PublishedPort: number }>;
    assert.deepEqual(ports.map((p) => [p.PublishMode, p.PublishedPort]), [['host', PUBLISHED_PORT]]);
    const res = await until('HTTP 200 on the published port', async () => {
      const r = await fetch(`http://${host.address}:${PUBLISHED_PORT}/`, { signal: AbortSignal.timeout(3000) });
      return r.status === 200 ? r : undefined;
    }, 20_000);
    assert.equal(res.status, 200);
    assert.equal((await cp.call('DELETE', path)).status, 202);
    await until('the api Service to be gone', async () => ((await cp.call('GET', path)).status === 404 ? true : undefined), 30_000);
    assert.equal(await hostDocker(host, 'service', 'inspect', API_NAME).then(() => 'present', () => 'gone'), 'gone');
  });

  it('removes the Swarm service when the Service is deleted', async () => {
    assert.equal((await cp.call('DELETE', svcPath)).status, 202);
    await until('the Service to be gone', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 30_000);
    assert.deepEqual(await swarmServices(), []);
  });
});
