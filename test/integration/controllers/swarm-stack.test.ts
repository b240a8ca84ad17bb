// A compose Service on a Swarm manager runs as a stack, through the control plane on the test
// manager (host 1, with hosts 2 and 3 as its workers): one Swarm service per compose service in the
// stack's overlay network, where the client reaches the web service by its compose name from
// another node; a compose config and secret are Swarm ones, versioned by content; `docker stack ps`
// lists the tasks; a change made by hand shows as drift and a sync puts it back; a compose service
// dropped from the file is removed and a changed config rotated; deleting the Service removes the
// services, configs, secrets and the network Holdfast created.
// test-hosts: first (host 1 is the Swarm manager)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost, type TestHosts } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'swarmstack';
const STACK = `hf_${PROJECT}_production_shop`;
const WEB = `${STACK}_web`;
const CLIENT = `${STACK}_client`;
const NETWORK = `${STACK}_default`;
const SECRET = 'stack-s3cret-value';
/** A node label the client's constraints exclude: set on its node by hand, Swarm moves the task off it. */
const NODE_LABEL = 'hfstacktest';

describe('a compose Service on a Swarm manager runs as a stack', { timeout: 240_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  let hosts: TestHosts;
  const svcPath = `${G}/namespaces/${PROJECT}/services/shop`;
  const compose = (withClient: boolean, greeting: string) => ({
    services: {
      web: {
        image: 'holdfast-test/busybox:1',
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        environment: { GREETING: 'hello' },
        configs: [{ source: 'greeting', target: '/etc/greeting' }],
        secrets: ['dbpass'],
        deploy: { replicas: 2, update_config: { parallelism: 2 }, rollback_config: { parallelism: 2, monitor: '5s' }, labels: { 'traefik.enable': 'true' } },
      },
      ...(withClient
        ? { client: { image: 'holdfast-test/busybox:1', command: ['sleep', '3600'], deploy: { placement: { constraints: ['node.role==worker', `node.labels.${NODE_LABEL}!=off`] } } } }
        : {}),
    },
    networks: { default: { attachable: true } },
    configs: { greeting: { content: greeting } },
    secrets: { dbpass: { environment: 'DB_PASSWORD' } },
  });
  const service = (withClient: boolean, greeting = 'hello') => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'shop', namespace: PROJECT },
    spec: {
      environment: 'production',
      server: 'manager',
      source: { compose: { inline: compose(withClient, greeting) } },
      env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
      update: { healthDeadlineSeconds: 60 },
    },
  });
  /** The Service's Swarm configs or secrets on the manager, by name. */
  const swarmFiles = async (kind: 'config' | 'secret') =>
    (await hostDocker(host, kind, 'ls', '--filter', `label=holdfast.dev/project=${PROJECT}`, '--format', '{{.Name}}')).split('\n').filter(Boolean).sort();
  /** What a running web task's container holds at `path`. */
  const webFile = async (path: string) => {
    const { node, container } = await runningTask(WEB);
    return hostDocker(node, 'exec', container, 'cat', path);
  };
  const deploymentsOf = async () => (await cp.call('GET', `${svcPath}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; reason?: string; message?: string }>;
  const waitDeployment = (revision: number) =>
    until(`deployment revision ${revision} to end`, async () => {
      const d = (await deploymentsOf()).find((x) => x.revision === revision);
      return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
    }, 120_000);
  const stackServices = async () => (await hostDocker(host, 'stack', 'services', STACK, '--format', '{{.Name}}')).split('\n').filter(Boolean).sort();
  const condition = async (type: string) => ((await cp.call('GET', svcPath)).body as Resource).status?.conditions?.find((c) => c.type === type);
  const cleanUp = async () => {
    for (const name of [WEB, CLIENT]) await hostDocker(host, 'service', 'rm', name).catch(() => undefined);
    await until('the test network to be removable', async () => hostDocker(host, 'network', 'rm', NETWORK).then(() => true, (err: Error) => (/not found/i.test(err.message) ? true : undefined)), 60_000);
    for (const kind of ['config', 'secret'] as const) {
      for (const name of await swarmFiles(kind)) await hostDocker(host, kind, 'rm', name).catch(() => undefined);
    }
    for (const h of hosts.hosts.slice(0, 3)) await hostDocker(host, 'node', 'update', '--label-rm', NODE_LABEL, h.name).catch(() => undefined);
  };

  /** The test host that runs a service's running task, and the task's container there. */
  const runningTask = async (serviceName: string) => {
    const line = await until(`a running task of ${serviceName}`, async () => {
      const out = await hostDocker(host, 'service', 'ps', serviceName, '--filter', 'desired-state=running', '--format', '{{.ID}} {{.CurrentState}}', '--no-trunc');
      return out.split('\n').find((l) => / Running/.test(l));
    }, 30_000);
    const [nodeId, container] = (await hostDocker(host, 'inspect', '--format', '{{.NodeID}} {{.Status.ContainerStatus.ContainerID}}', line.split(' ')[0]!)).split(' ');
    const hostname = await hostDocker(host, 'node', 'inspect', '--format', '{{.Description.Hostname}}', nodeId!);
    const node = hosts.hosts.find((h) => h.name === hostname);
    assert.ok(node, `the task runs on ${hostname}, a test host`);
    return { node, container: container! };
  };

  before(async () => {
    hosts = await loadTestHosts({ count: 3 });
    host = testHost(hosts, 1);
    assert.ok(host.swarmManager, 'test host 1 is a Swarm manager');
    await cleanUp();
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: PROJECT, server: 'manager', kind: 'docker-swarm-manager' });
    const res = await cp.call('POST', `${G}/namespaces/${PROJECT}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: PROJECT }, spec: { stringData: { password: SECRET } } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  after(async () => {
    await cp?.stop();
    await cleanUp();
  });

  it('deploys one Swarm service per compose service in the stack, on its overlay network', async () => {
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, service(true))).status, 201);
    const d = await waitDeployment(1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    assert.deepEqual(await stackServices(), [CLIENT, WEB], 'docker stack services lists the stack');
    const tasks = (await hostDocker(host, 'stack', 'ps', STACK, '--filter', 'desired-state=running', '--format', '{{.Name}} {{.CurrentState}}')).split('\n').filter(Boolean).sort();
    assert.deepEqual(tasks.map((t) => t.split(' ')[0]), [`${CLIENT}.1`, `${WEB}.1`, `${WEB}.2`], tasks.join('\n'));
    for (const t of tasks) assert.match(t, / Running/);

    const network = JSON.parse(await hostDocker(host, 'network', 'inspect', '--format', '{{json .}}', NETWORK)) as { Driver: string; Scope: string; Attachable: boolean; Labels: Record<string, string> };
    assert.deepEqual([network.Driver, network.Scope, network.Attachable], ['overlay', 'swarm', true]);
    assert.equal(network.Labels['com.docker.stack.namespace'], STACK);
    assert.equal(network.Labels['holdfast.dev/managed-by'], 'holdfast');
    const labels = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.Labels}}', WEB)) as Record<string, string>;
    assert.equal(labels['com.docker.stack.namespace'], STACK);
    assert.equal(labels['holdfast.dev/component'], 'web');
    assert.equal(labels['traefik.enable'], 'true', 'deploy.labels on the service');
    const rollback = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.RollbackConfig}}', WEB)) as Record<string, unknown>;
    assert.deepEqual([rollback.Parallelism, rollback.Monitor, rollback.FailureAction], [2, 5e9, 'pause'], 'deploy.rollback_config as Swarm holds it');
    const taskLabels = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Labels}}', WEB)) as Record<string, string>;
    assert.equal(taskLabels['traefik.enable'], undefined, 'and not on its tasks');

    // The client, on a worker, reaches web by its compose name over the overlay network.
    const { node, container } = await runningTask(CLIENT);
    assert.notEqual(node.name, host.name, 'the client runs on a worker');
    const answer = await until('web to answer the client by name', async () => {
      const out = await hostDocker(node, 'exec', container, 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 web 8080').catch(() => '');
      return /^HTTP\/1\.[01] 200/.test(out) ? out : undefined;
    }, 30_000);
    assert.match(answer, /200 OK/);

    const ready = await until('Ready=True', async () => {
      const s = (await cp.call('GET', svcPath)).body as Resource;
      return s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? s : undefined;
    }, 30_000);
    assert.equal((ready.status as Record<string, unknown>).readyReplicas, 3, 'the tasks of both services count');
    const views = (await cp.call('GET', `${svcPath}/views`)).body as { live: { services: Array<{ name: string; tasks: Array<{ state: string; desiredState: string; current: boolean }> }> } };
    assert.deepEqual(views.live.services.map((s) => [s.name, s.tasks.filter((t) => t.desiredState === 'running' && t.state === 'running' && t.current).length]).sort(), [[CLIENT, 1], [WEB, 2]]);
    const drifted = await until('the Drifted condition', async () => {
      const c = await condition('Drifted');
      return c && c.reason !== 'NotDeployed' ? c : undefined;
    }, 30_000);
    assert.equal(drifted.status, 'False', drifted.message);
  });

  it('mounts the compose config and secret as Swarm ones, the secret value nowhere else', async () => {
    const [config] = await swarmFiles('config');
    const [secret] = await swarmFiles('secret');
    assert.match(config ?? '', new RegExp(`^${STACK}_greeting_[0-9a-f]{12}$`));
    assert.match(secret ?? '', new RegExp(`^${STACK}_dbpass_[0-9a-f]{12}$`));
    assert.equal(await webFile('/etc/greeting'), 'hello');
    assert.equal(await webFile('/run/secrets/dbpass'), SECRET);
    const d = (await deploymentsOf()).find((x) => x.revision === 1)!;
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, new RegExp(`create-swarm-file ${secret}`));
    assert.doesNotMatch(logs, new RegExp(SECRET), 'deployment logs never carry secret values');
    for (const path of [svcPath, `${svcPath}/views`, `${svcPath}/deployments`]) {
      assert.doesNotMatch(JSON.stringify((await cp.call('GET', path)).body), new RegExp(SECRET), `${path} never shows the secret value`);
    }
  });

  it('reports a change made by hand to one service of the stack as drift, and a sync puts it back', async () => {
    await hostDocker(host, 'service', 'update', '--detach', '--no-resolve-image', '--env-add', 'GREETING=hacked', WEB);
    const liveDrift = new RegExp(`services\\[${WEB}\\]\\.env\\.GREETING changed`);
    await until('drift on the web service', async () => {
      const c = await condition('Drifted');
      return c?.status === 'True' && liveDrift.test(c.message ?? '') ? c : undefined;
    }, 30_000);
    const sync = await cp.call('POST', `${svcPath}/sync`);
    assert.equal(sync.status, 201, JSON.stringify(sync.body));
    const d = await waitDeployment(sync.body.revision as number);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    const env = JSON.parse(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', WEB)) as string[];
    assert.ok(env.includes('GREETING=hello'), env.join(' '));
    await until('drift to clear', async () => ((await condition('Drifted'))?.status === 'False' ? true : undefined), 30_000);
  });

  it('follows Swarm moving a task off a node its constraints now exclude', async () => {
    // Swarm's constraint enforcer rejects such a task within a second or two and runs it on a node
    // that qualifies, so the misplaced state itself is too short to wait for here (diffTaskPlacement's
    // table covers it); what must follow is the live view: the task on the other worker, no drift left.
    const { node } = await runningTask(CLIENT);
    const view = async () => (await cp.call('GET', `${svcPath}/views`)).body as { live: { services: Array<{ name: string; tasks: Array<{ node?: string; state: string; desiredState: string; current: boolean }> }> }; drift: Array<{ path: string }> };
    const runningOn = async () => (await view()).live.services.find((s) => s.name === CLIENT)?.tasks.filter((t) => t.desiredState === 'running' && t.state === 'running' && t.current).map((t) => t.node) ?? [];
    assert.deepEqual(await runningOn(), [node.name]);
    await hostDocker(host, 'node', 'update', '--label-add', `${NODE_LABEL}=off`, node.name);
    try {
      const moved = await until('the task running on the other worker', async () => {
        const nodes = await runningOn();
        return nodes.length === 1 && nodes[0] !== node.name ? nodes[0] : undefined;
      }, 30_000).catch(async (err: Error) => {
        throw new Error(`${err.message}; the view: ${JSON.stringify((await view()).live.services.find((s) => s.name === CLIENT))}; docker service ps: ${await hostDocker(host, 'service', 'ps', CLIENT, '--format', '{{.Node}} {{.DesiredState}} {{.CurrentState}}')}`);
      });
      assert.equal((await runningTask(CLIENT)).node.name, moved, 'the view says where Swarm runs it');
      await until('no drift left', async () => ((await view()).drift.length === 0 ? true : undefined), 30_000);
      await until('Drifted=False', async () => ((await condition('Drifted'))?.status === 'False' ? true : undefined), 30_000);
    } finally {
      await hostDocker(host, 'node', 'update', '--label-rm', NODE_LABEL, node.name);
    }
  });

  it('removes a compose service dropped from the file, and rotates a changed config', async () => {
    const previous = Math.max(...(await deploymentsOf()).map((x) => x.revision));
    const [before] = await swarmFiles('config');
    const current = (await cp.call('GET', svcPath)).body as Resource;
    const { resourceVersion: _rv, ...metadata } = current.metadata;
    const res = await cp.call('PUT', svcPath, { ...service(false, 'bonjour'), metadata });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = await waitDeployment(previous + 1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    assert.deepEqual(await stackServices(), [WEB]);
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, new RegExp(`remove-service ${CLIENT}: ${CLIENT} is no longer declared`));
    const after = await swarmFiles('config');
    assert.equal(after.length, 1, `the old version is removed: ${after.join(', ')}`);
    assert.notEqual(after[0], before, 'a new version of the config');
    assert.match(logs, new RegExp(`remove-swarm-file ${before}`));
    assert.equal(await webFile('/etc/greeting'), 'bonjour');
  });

  it('runs a service in mode global as one task on every node, counted by Ready', async () => {
    const previous = Math.max(...(await deploymentsOf()).map((x) => x.revision));
    const current = (await cp.call('GET', svcPath)).body as Resource;
    const { resourceVersion: _rv, ...metadata } = current.metadata;
    const global = service(false, 'bonjour');
    const web = (global.spec.source.compose.inline.services as Record<string, { deploy: Record<string, unknown> }>).web;
    web.deploy = { mode: 'global' };
    const res = await cp.call('PUT', svcPath, { ...global, metadata });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = await waitDeployment(previous + 1);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    assert.equal(await hostDocker(host, 'service', 'inspect', '--format', '{{json .Spec.Mode}}', WEB), '{"Global":{}}');
    const nodes = await until('a running task on each of the three nodes', async () => {
      const running = (await hostDocker(host, 'service', 'ps', WEB, '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}')).split('\n').filter((l) => / Running/.test(l)).map((l) => l.split(' ')[0]!).sort();
      return running.length === 3 ? running : undefined;
    }, 60_000);
    assert.deepEqual(nodes, hosts.hosts.slice(0, 3).map((h) => h.name).sort());
    const ready = await until('Ready=True with the three tasks', async () => {
      const s = (await cp.call('GET', svcPath)).body as Resource;
      return s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && (s.status as Record<string, unknown>).readyReplicas === 3 ? s : undefined;
    }, 60_000);
    assert.equal((ready.status as Record<string, unknown>).readyReplicas, 3);
  });

  it('removes the stack\'s services, configs, secrets and network when the Service is deleted', async () => {
    assert.equal((await cp.call('DELETE', svcPath)).status, 202);
    await until('the Service to be gone', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 90_000);
    assert.deepEqual(await stackServices(), []);
    assert.deepEqual([...(await swarmFiles('config')), ...(await swarmFiles('secret'))], []);
    assert.equal(await hostDocker(host, 'network', 'ls', '--filter', `name=${NETWORK}`, '--format', '{{.Name}}'), '');
  });
});
