// A Service on a Swarm manager runs as a Swarm service, through the control plane on the test
// manager (host 1, with hosts 2 and 3 as its workers): created with two running tasks, an env change rolls out as a rolling update of
// the same service, deleting the Service removes the Swarm service. The image exists only on the
// host: nothing may ask a registry.
// test-hosts: first (host 1 is the Swarm manager)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost, type TestHosts } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'swarmroll';
const SWARM_NAME = `hf_${PROJECT}_production_web`;
const SECRET = 'swarm-s3cret-value';
const API_NAME = `hf_${PROJECT}_production_api`;
const PUBLISHED_PORT = 18791;
const SPREAD_NAME = `hf_${PROJECT}_production_spread`;
const SPREAD_PORT = 18792;
const PLACED_NAME = `hf_${PROJECT}_production_placed`;

function withoutVersion(obj: Resource) {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return metadata;
}

describe('a Service on a Swarm manager runs as a Swarm service', { timeout: 180_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  let hosts: TestHosts;
  /** The swarm's nodes by hostname: the manager and its workers. */
  let swarmNodes: string[];
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

  /** The test host that runs a task, and the task's container there. */
  const taskPlace = async (taskId: string) => {
    const [nodeId, container] = (await hostDocker(host, 'inspect', '--format', '{{.NodeID}} {{.Status.ContainerStatus.ContainerID}}', taskId)).split(' ');
    const hostname = await hostDocker(host, 'node', 'inspect', '--format', '{{.Description.Hostname}}', nodeId!);
    const node = hosts.hosts.find((h) => h.name === hostname);
    assert.ok(node, `task ${taskId} runs on ${hostname}, a test host`);
    return { node, container: container! };
  };

  before(async () => {
    hosts = await loadTestHosts({ count: 3 });
    host = testHost(hosts, 1);
    assert.ok(host.swarmManager, 'test host 1 is a Swarm manager');
    for (const name of [SWARM_NAME, API_NAME, SPREAD_NAME, PLACED_NAME]) await hostDocker(host, 'service', 'rm', name).catch(() => undefined);
    swarmNodes = (await hostDocker(host, 'node', 'ls', '--filter', 'role=worker', '--format', '{{.Hostname}}')).split('\n').filter(Boolean).concat(host.name).sort();
    assert.equal(swarmNodes.length, 3, `a manager and two workers: ${swarmNodes.join(', ')}`);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: PROJECT, server: 'manager', kind: 'docker-swarm-manager' });
    const res = await cp.call('POST', `${G}/namespaces/${PROJECT}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: PROJECT }, spec: { stringData: { password: SECRET } } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  after(async () => {
    await cp?.stop();
    for (const name of [SWARM_NAME, API_NAME, SPREAD_NAME, PLACED_NAME]) await hostDocker(host, 'service', 'rm', name).catch(() => undefined);
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
    // A task answers on 8080 (asked from inside its own container, on its node: no port is published).
    const { node, container } = await taskPlace(tasks[0]!.split(' ')[0]!);
    assert.match(await hostDocker(node, 'exec', container, 'wget', '-qO-', 'http://127.0.0.1:8080/'), /\S/);
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
    // The live view lists the tasks, each on its node, from the manager's live cache.
    const views = (await cp.call('GET', `${svcPath}/views`)).body as { live: { services: Array<{ name: string; tasks: Array<{ id: string; node: string; state: string; desiredState: string; current: boolean }> }> } };
    const listed = views.live.services.find((x) => x.name === SWARM_NAME)?.tasks.filter((t) => t.desiredState === 'running') ?? [];
    assert.deepEqual(listed.map((t) => [t.state, t.current]), [['running', true], ['running', true]], JSON.stringify(views.live));
    for (const t of listed) assert.equal(t.node, (await taskPlace(t.id)).node.name);
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
    // Progress as the tasks of the new spec come up, with the nodes they run on.
    assert.match(logs, new RegExp(`${SWARM_NAME}: [12]/2 running on [123] nodes?`));
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
    // Each failed task with its node, exit code and Swarm's message.
    assert.match(d.message ?? '', new RegExp(`slot \\d+ on (${swarmNodes.join('|')}) failed, exit code 3: task: non-zero exit \\(3\\)`), d.message);
    assert.match(d.message ?? '', new RegExp(`rolled back to revision ${previous}`), d.message);
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, /rollback: asked Swarm to roll hf_swarmroll_production_web back to its previous spec/);
    // Swarm's rollback completes, or, paused by Swarm, is finished by updating to the previous spec: the record says which.
    const bySwarm = /rollback: Swarm rolled hf_swarmroll_production_web back/.test(logs);
    assert.ok(bySwarm || /rollback: Swarm paused the rollback of hf_swarmroll_production_web \(.+\); updating it to the previous revision's spec instead/.test(logs), logs);
    assert.equal(/through Swarm's rollback/.test(d.message ?? ''), bySwarm, d.message);
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

  it('publishes a port in mode host on a manager without IPVS, answering on the node that runs the task', async () => {
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
    const task = (await hostDocker(host, 'service', 'ps', API_NAME, '--filter', 'desired-state=running', '--format', '{{.ID}}', '--no-trunc')).split('\n')[0]!;
    const { node } = await taskPlace(task);
    const res = await until('HTTP 200 on the published port', async () => {
      const r = await fetch(`http://${node.address}:${PUBLISHED_PORT}/`, { signal: AbortSignal.timeout(3000) });
      return r.status === 200 ? r : undefined;
    }, 20_000);
    assert.equal(res.status, 200);
    assert.equal((await cp.call('DELETE', path)).status, 202);
    await until('the api Service to be gone', async () => ((await cp.call('GET', path)).status === 404 ? true : undefined), 30_000);
    assert.equal(await hostDocker(host, 'service', 'inspect', API_NAME).then(() => 'present', () => 'gone'), 'gone');
  });

  it('spreads 3 replicas publishing a host port over the nodes, one per node, scales them to 0 and back', async () => {
    const path = `${G}/namespaces/${PROJECT}/services/spread`;
    const spread = service('spread');
    spread.metadata.name = 'spread';
    Object.assign(spread.spec, { replicas: 3, ports: [{ containerPort: 8080, hostPort: SPREAD_PORT }] });
    const put = async (replicas: number) => {
      const current = (await cp.call('GET', path)).body as Resource;
      const revision = Math.max(...((await cp.call('GET', `${path}/deployments`)).body.items as Array<{ revision: number }>).map((x) => x.revision)) + 1;
      const res = await cp.call('PUT', path, { ...spread, spec: { ...spread.spec, replicas }, metadata: withoutVersion(current) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return revision;
    };
    const ended = (revision: number) =>
      until(`spread revision ${revision} to end`, async () => {
        const d = ((await cp.call('GET', `${path}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; reason?: string; message?: string }>).find((x) => x.revision === revision);
        return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
      }, 90_000);
    const nodesRunning = async () =>
      (await hostDocker(host, 'service', 'ps', SPREAD_NAME, '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}')).split('\n').filter((l) => /Running/.test(l)).map((l) => l.split(' ')[0]!).sort();
    const ready = (replicas: number) =>
      until(`spread Ready with ${replicas} replica(s)`, async () => {
        const st = ((await cp.call('GET', path)).body as Resource).status as { readyReplicas?: number; conditions?: Array<{ type: string; status: string }> } | undefined;
        return st?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && st.readyReplicas === replicas ? true : undefined;
      }, 30_000);

    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, spread)).status, 201);
    const first = await ended(1);
    assert.equal(first.phase, 'completed', `${first.reason}: ${first.message}`);
    assert.deepEqual(await nodesRunning(), swarmNodes, 'one task on each node');
    assert.equal(await hostDocker(host, 'service', 'inspect', '--format', '{{.Spec.TaskTemplate.Placement.MaxReplicas}}', SPREAD_NAME), '1');
    assert.match(String((await cp.call('GET', `${G}/deployments/${first.id}/logs`)).body), /placement max_replicas_per_node 1 added/);
    for (const name of swarmNodes) {
      const node = hosts.hosts.find((h) => h.name === name)!;
      const res = await until(`HTTP 200 from ${name}`, async () => {
        const r = await fetch(`http://${node.address}:${SPREAD_PORT}/`, { signal: AbortSignal.timeout(3000) });
        return r.status === 200 ? r : undefined;
      }, 20_000);
      assert.equal(res.status, 200);
    }
    await ready(3);

    const zero = await ended(await put(0));
    assert.equal(zero.phase, 'completed', `${zero.reason}: ${zero.message}`);
    assert.equal(await hostDocker(host, 'service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', SPREAD_NAME), '0');
    await until('no task of spread running', async () => ((await nodesRunning()).length === 0 ? true : undefined), 30_000);
    await ready(0);

    const back = await ended(await put(3));
    assert.equal(back.phase, 'completed', `${back.reason}: ${back.message}`);
    assert.deepEqual(await nodesRunning(), swarmNodes);
    await ready(3);
    assert.equal((await cp.call('DELETE', path)).status, 202);
    await until('the spread Service to be gone', async () => ((await cp.call('GET', path)).status === 404 ? true : undefined), 30_000);
  });

  it('places tasks by spec.placement, and fails a constraint no node satisfies with NoSuitableNode before touching the service', async () => {
    const path = `${G}/namespaces/${PROJECT}/services/placed`;
    const placed = service('placed');
    placed.metadata.name = 'placed';
    Object.assign(placed.spec, { replicas: 2, placement: { constraints: ['node.role==worker'], maxReplicasPerNode: 1 } });
    const deployments = async () => (await cp.call('GET', `${path}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; reason?: string; message?: string }>;
    const ended = (revision: number) =>
      until(`placed revision ${revision} to end`, async () => {
        const d = (await deployments()).find((x) => x.revision === revision);
        return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
      }, 90_000);
    const nodesRunning = async () =>
      (await hostDocker(host, 'service', 'ps', PLACED_NAME, '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}')).split('\n').filter((l) => /Running/.test(l)).map((l) => l.split(' ')[0]!).sort();
    const workers = swarmNodes.filter((n) => n !== host.name);

    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, placed)).status, 201);
    const first = await ended(1);
    assert.equal(first.phase, 'completed', `${first.reason}: ${first.message}`);
    assert.deepEqual(await nodesRunning(), workers, 'one task on each worker, none on the manager');
    const placement = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.Placement}}', PLACED_NAME)) as { Constraints?: string[]; MaxReplicas?: number };
    assert.deepEqual(placement.Constraints, ['node.role==worker']);
    assert.equal(placement.MaxReplicas, 1);

    const current = (await cp.call('GET', path)).body as Resource;
    const nowhere = { ...placed, spec: { ...placed.spec, placement: { constraints: ['node.role==worker', 'node.labels.zone==nowhere'] } } };
    assert.equal((await cp.call('PUT', path, { ...nowhere, metadata: withoutVersion(current) })).status, 200);
    const refused = await ended(2);
    assert.equal(refused.phase, 'failed');
    assert.equal(refused.reason, 'NoSuitableNode', refused.message);
    assert.match(refused.message ?? '', /constraint "node.labels.zone==nowhere" matches none of the 3 ready and active node\(s\)/);
    const after = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.Placement}}', PLACED_NAME)) as { Constraints?: string[] };
    assert.deepEqual(after.Constraints, ['node.role==worker'], 'the service was left as it ran');
    assert.deepEqual(await nodesRunning(), workers);
    assert.equal((await cp.call('DELETE', path)).status, 202);
    await until('the placed Service to be gone', async () => ((await cp.call('GET', path)).status === 404 ? true : undefined), 30_000);
  });

  it('removes the Swarm service when the Service is deleted', async () => {
    assert.equal((await cp.call('DELETE', svcPath)).status, 202);
    await until('the Service to be gone', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 30_000);
    assert.deepEqual(await swarmServices(), []);
  });
});
