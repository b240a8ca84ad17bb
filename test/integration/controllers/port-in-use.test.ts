// A host port held by something Holdfast does not own: the rollout fails PortInUse naming the port
// and the holder (a process on the host, or a container the Engine names), removes the container and
// the network it had created, says so in the deployment log, and the Service's status and events
// carry the reason.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'ports';
const HELD_BY_PROCESS = 18490;
const HELD_BY_CONTAINER = 18494;
const HOLDER = 'ports-holder';

describe('a host port in use by something Holdfast does not own', { timeout: 240_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  let listener: ChildProcess;
  const svcPath = (name: string) => `${G}/namespaces/${NS}/services/${name}`;
  const managed = async () => (await hostDocker(host, 'ps', '-a', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);
  const listening = async (port: number) => {
    const { stdout } = await run('nsenter', [`--net=/var/run/netns/${host.name}`, 'busybox', 'netstat', '-ltn']);
    return stdout.split('\n').some((l) => l.includes(`:${port} `)) ? true : undefined;
  };
  const create = async (name: string, hostPort: number) => {
    const res = await cp.call('POST', `${G}/namespaces/${NS}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name, namespace: NS },
      spec: {
        environment: 'production',
        server: 'edge',
        source: { image: 'holdfast-test/busybox:1' },
        command: ['httpd', '-f', '-p', '8080'],
        ports: [{ containerPort: 8080, hostPort }],
        update: { order: 'stop-first', healthDeadlineSeconds: 10, autoRollback: true },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const deploymentEnds = (name: string) =>
    until(`the deployment of ${name} to end`, async () => {
      const items = (await cp.call('GET', `${svcPath(name)}/deployments`)).body.items as Array<{ id: string; phase: string; reason?: string; message?: string }>;
      return items.find((x) => ['completed', 'failed', 'canceled'].includes(x.phase));
    }, 90_000);
  const degraded = (name: string) =>
    until(`${name} Degraded`, async () => {
      const svc = (await cp.call('GET', svcPath(name))).body as Resource;
      return svc.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
    }, 15_000);
  const failedEvent = (name: string) =>
    until(`a DeploymentFailed event of ${name}`, async () => {
      const items = (await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items as Array<{ involvedObject: { name: string }; reason: string; message: string; type: string }>;
      return items.find((e) => e.involvedObject.name === name && e.reason === 'DeploymentFailed');
    }, 15_000);

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    // busybox nc listening in the host's network namespace: a process, not a container.
    listener = spawn('nsenter', [`--net=/var/run/netns/${host.name}`, 'busybox', 'nc', '-l', '-p', String(HELD_BY_PROCESS)], { stdio: 'ignore' });
    await until(`nc listening on ${HELD_BY_PROCESS}`, () => listening(HELD_BY_PROCESS), 10_000);
    await hostDocker(host, 'rm', '-f', HOLDER).catch(() => undefined);
    await hostDocker(host, 'run', '-d', '--name', HOLDER, '-p', `${HELD_BY_CONTAINER}:8080`, 'holdfast-test/busybox:1', 'httpd', '-f', '-p', '8080');
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: NS });
  });
  after(async () => {
    await cp?.stop();
    listener?.kill('SIGTERM');
    await hostDocker(host, 'rm', '-f', HOLDER).catch(() => undefined);
    for (const name of await managed().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
  });

  it('held by a process on the host: fails PortInUse naming the port, leaves no container, and status and events say so', async () => {
    await create('web', HELD_BY_PROCESS);
    const d = await deploymentEnds('web');
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'PortInUse', d.message);
    const sentence = `host port ${HELD_BY_PROCESS}/tcp on \\S+ of server edge is already in use by a process on the host outside Docker`;
    assert.match(d.message!, new RegExp(sentence));
    assert.deepEqual(await managed(), [], 'the Created container was removed');
    const log = await (await fetch(`${cp.url}${G}/deployments/${d.id}/logs`, { headers: { authorization: `Bearer ${cp.token}` } })).text();
    assert.match(log, /removed container hf_ports_production_web_1: this deployment created it and it never started/);

    const condition = await degraded('web');
    assert.equal(condition.reason, 'PortInUse');
    assert.match(condition.message, new RegExp(sentence));
    const event = await failedEvent('web');
    assert.equal(event.type, 'Warning');
    assert.match(event.message, new RegExp(`failed: PortInUse: step start: ${sentence}`));
  });

  it('a compose Service whose start fails removes the network it created as well', async () => {
    const res = await cp.call('POST', `${G}/namespaces/${NS}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'stack', namespace: NS },
      spec: {
        environment: 'production',
        server: 'edge',
        source: {
          compose: {
            inline: {
              services: { app: { image: 'holdfast-test/busybox:1', command: ['httpd', '-f', '-p', '8080'], ports: [`${HELD_BY_PROCESS}:8080`], networks: ['front'] } },
              networks: { front: {} },
            },
          },
        },
        update: { order: 'stop-first', healthDeadlineSeconds: 10, autoRollback: true },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const d = await deploymentEnds('stack');
    assert.equal(d.reason, 'PortInUse', d.message);
    assert.deepEqual(await managed(), [], 'the Created container was removed');
    const networks = await hostDocker(host, 'network', 'ls', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Name}}');
    assert.equal(networks, '', 'the network made for it was removed');
    const log = await (await fetch(`${cp.url}${G}/deployments/${d.id}/logs`, { headers: { authorization: `Bearer ${cp.token}` } })).text();
    assert.match(log, /removed network \S+: this deployment created it and no container uses it/);
  });

  it('held by a container Holdfast does not manage: refused before anything is created, naming that container', async () => {
    await create('api', HELD_BY_CONTAINER);
    const d = await deploymentEnds('api');
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'PortInUse', d.message);
    assert.match(d.message!, new RegExp(`host port ${HELD_BY_CONTAINER}/tcp is published by container ${HOLDER} \\(\\w+\\) which Holdfast does not manage`));
    assert.deepEqual(await managed(), [], 'nothing was created');
    assert.equal((await degraded('api')).reason, 'PortInUse');
  });
});
