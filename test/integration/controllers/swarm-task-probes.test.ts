// The http readiness probe of a Service on a Swarm manager runs against each task, from the node that
// runs it: over the kept session of the Server declared for that node (host 1, the manager, and
// host 2, a worker with a Server of its own), or, on host 3 (a worker without a Server), from the
// manager through the port the task publishes in mode host. A rollout waits until every task
// passes; one whose probe never passes fails naming the task, its node and the probe, and is
// rolled back through Swarm; a task on a node without a Server and without a published port is
// not probed, and the Ready condition says so.
// test-hosts: first (host 1 is the Swarm manager)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, readPrivateKey, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'taskprobe';
const PORT = 18796;
const NAMES = ['slow', 'never', 'unprobed'].map((s) => `hf_${PROJECT}_production_${s}`);

type Deployment = { id: string; revision: number; phase: string; reason?: string; message?: string; startedAt?: string; finishedAt?: string };

describe('readiness probes against Swarm tasks, from the node that runs each', { timeout: 600_000 }, () => {
  let cp: TestControlPlane;
  let manager: TestHost;
  let worker: TestHost;
  let bare: TestHost;

  const service = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace: PROJECT },
    spec: {
      environment: 'production',
      server: 'manager',
      source: { image: 'holdfast-test/busybox:1' },
      replicas: 1,
      update: { order: 'stop-first', healthDeadlineSeconds: 40, autoRollback: true },
      ...spec,
    },
  });
  const path = (name: string) => `${G}/namespaces/${PROJECT}/services/${name}`;
  const ended = (name: string, revision: number) =>
    until(`${name} revision ${revision} to end`, async () => {
      const d = ((await cp.call('GET', `${path(name)}/deployments`)).body.items as Deployment[]).find((x) => x.revision === revision);
      return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
    }, 120_000);
  const logsOf = async (d: Deployment) => String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
  const ready = (name: string) =>
    until(`${name} Ready=True`, async () => {
      const s = (await cp.call('GET', path(name))).body as Resource;
      const c = s.status?.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'True' ? { condition: c, status: s.status as { readyReplicas?: number } } : undefined;
    }, 30_000);

  before(async () => {
    const hosts = await loadTestHosts({ count: 3 });
    [manager, worker, bare] = [testHost(hosts, 1), testHost(hosts, 2), testHost(hosts, 3)];
    assert.ok(manager.swarmManager, 'test host 1 is a Swarm manager');
    for (const name of NAMES) await hostDocker(manager, 'service', 'rm', name).catch(() => undefined);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, manager, { project: PROJECT, server: 'manager', kind: 'docker-swarm-manager' });
    // A Server for host 2 (a worker, a plain engine to Holdfast); none for host 3.
    assert.equal((await cp.call('POST', `${G}/sshkeys`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'worker-key' }, spec: { privateKey: readPrivateKey(worker) } })).status, 201);
    const server = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'worker' }, spec: { host: worker.address, port: worker.port, user: worker.user, sshKeyRef: { name: 'worker-key' }, hostKeyFingerprint: worker.hostKeyFingerprint } };
    assert.equal((await cp.call('POST', `${G}/servers`, server)).status, 201);
    const workerNode = await hostDocker(worker, 'info', '--format', '{{.Swarm.NodeID}}');
    await until("the worker Server's swarm node", async () => {
      const s = (await cp.call('GET', `${G}/servers/worker`)).body as { status?: { docker?: { swarm?: { nodeID?: string; role?: string } } } };
      return s.status?.docker?.swarm?.nodeID === workerNode ? true : undefined;
    }, 30_000);
  });
  after(async () => {
    await cp?.stop();
    for (const name of NAMES) await hostDocker(manager, 'service', 'rm', name).catch(() => undefined);
  });

  it('waits until the task on each node serves its readiness file, probed from that node', async () => {
    // Each task serves /ready only 8 s after it starts; one per node (a host port in mode host).
    const slow = service('slow', {
      command: ['sh', '-c', 'mkdir -p /www && (sleep 8 && echo ok > /www/ready) & exec httpd -f -p 8080 -h /www'],
      replicas: 3,
      ports: [{ containerPort: 8080, hostPort: PORT }],
      healthcheck: { http: { path: '/ready', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 },
    });
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, slow)).status, 201);
    const d = await ended('slow', 1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    const logs = await logsOf(d);
    // Not ready at first: the file is not there yet.
    assert.match(logs, /slot \d on hf-h\d: probe \d+ failed .*answered 404/, logs);
    // Then ready, each from where its task runs.
    assert.match(logs, new RegExp(`on ${manager.name} is ready: probe \\d+ passed over server manager's session: GET http://[\\d.]+:8080/ready answered 200`), logs);
    assert.match(logs, new RegExp(`on ${worker.name} is ready: probe \\d+ passed over server worker's session: GET http://[\\d.]+:8080/ready answered 200`), logs);
    assert.match(logs, new RegExp(`on ${bare.name} is ready: probe \\d+ passed from the manager's server manager, at ${bare.address.replace(/\./g, '\\.')}:${PORT} published on ${bare.name}: GET http://${bare.address.replace(/\./g, '\\.')}:${PORT}/ready answered 200`), logs);
    assert.match(logs, /3\/3 running on 3 nodes; 3\/3 running task\(s\) ready/);
    const { condition, status } = await ready('slow');
    assert.equal(status.readyReplicas, 3, condition.message);
    assert.doesNotMatch(condition.message ?? '', /not run/);
  });

  it('goes not ready when a task stops passing its probe, and ready again', async () => {
    const task = (await hostDocker(manager, 'service', 'ps', NAMES[0]!, '--filter', 'desired-state=running', '--filter', `node=${worker.name}`, '--format', '{{.ID}}', '--no-trunc')).split('\n')[0]!;
    const container = await hostDocker(manager, 'inspect', '--format', '{{.Status.ContainerStatus.ContainerID}}', task);
    await hostDocker(worker, 'exec', container, 'rm', '/www/ready');
    const notReady = await until('slow Ready=False', async () => {
      const c = ((await cp.call('GET', path('slow'))).body as Resource).status?.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'False' ? c : undefined;
    }, 30_000);
    assert.equal(notReady.reason, 'ProbeFailing', notReady.message);
    assert.match(notReady.message ?? '', new RegExp(`running on ${worker.name}; 3 consecutive probe failures \\(failureThreshold 3\\): GET http://[\\d.]+:8080/ready answered 404`));
    await hostDocker(worker, 'exec', container, 'sh', '-c', 'echo ok > /www/ready');
    const back = await ready('slow');
    assert.equal(back.status.readyReplicas, 3, back.condition.message);
  });

  it('fails an update whose tasks never pass, naming the task, node and probe, and rolls it back through Swarm', async () => {
    const probe = { http: { path: '/ok', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 };
    const never = service('never', {
      command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/ok && exec httpd -f -p 8080 -h /www'],
      env: [{ name: 'VERSION', value: '1' }],
      placement: { constraints: [`node.hostname==${worker.name}`] },
      healthcheck: probe,
      // start-first: the old task's httpd, as PID 1, ignores SIGTERM and holds a stop-first update 10 s.
      update: { order: 'start-first', healthDeadlineSeconds: 15, autoRollback: true },
    });
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, never)).status, 201);
    const first = await ended('never', 1);
    assert.equal(first.phase, 'completed', `${first.reason}: ${first.message}`);
    assert.match(await logsOf(first), new RegExp(`slot 1 on ${worker.name} is ready: probe 1 passed over server worker's session`));

    const current = (await cp.call('GET', path('never'))).body as Resource;
    const { resourceVersion: _rv, ...metadata } = current.metadata;
    const broken = { ...never, metadata, spec: { ...never.spec, env: [{ name: 'VERSION', value: '2' }], healthcheck: { ...probe, http: { path: '/never', port: 8080 } } } };
    assert.equal((await cp.call('PUT', path('never'), broken)).status, 200);
    const d = await ended('never', 2);
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'HealthCheckFailed', d.message);
    const logs = await logsOf(d);
    assert.match(
      d.message ?? '',
      new RegExp(`Swarm service ${NAMES[1]}: 1 task\\(s\\) of the new spec not ready within 15s: slot 1 on ${worker.name} \\(task [0-9a-z]{12}\\): \\d+ consecutive probe failure\\(s\\) \\(failureThreshold 3\\); last probe: GET http://[\\d.]+:8080/never answered 404`),
      logs,
    );
    assert.match(d.message ?? '', /rolled back to revision 1/);
    const env = JSON.parse(await hostDocker(manager, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', NAMES[1]!)) as string[];
    assert.ok(env.includes('VERSION=1'), `the service runs the previous spec again: ${env.join(' ')}`);
  });

  it('does not probe a task on a node without a Server and a published port, and the Ready condition says why', async () => {
    const unprobed = service('unprobed', {
      command: ['httpd', '-f', '-p', '8080', '-h', '/'],
      placement: { constraints: [`node.hostname==${bare.name}`] },
      healthcheck: { http: { path: '/never', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 },
    });
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, unprobed)).status, 201);
    const d = await ended('unprobed', 1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    assert.match(await logsOf(d), new RegExp(`slot 1 on ${bare.name}: readiness probe not run \\(node ${bare.name} has no Server`));
    const { condition } = await ready('unprobed');
    assert.match(condition.message ?? '', new RegExp(`^1/1 replicas ready on manager; readiness probe not run for ${NAMES[2]}\\.1: node ${bare.name} has no Server \\(declare one for it, and its tasks are probed over its own session\\), and the task does not publish port 8080`));
  });
});
