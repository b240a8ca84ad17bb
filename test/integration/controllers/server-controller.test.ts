// The Server controller against the real test hosts (own sshd and dockerd per network namespace).
// test-hosts: first (host 1 is the Swarm manager)
import assert from 'node:assert/strict';
import { createServer, type Server as NetServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { hostDocker, loadTestHosts, readPrivateKey, testHost, type TestHosts } from '../../support/testhosts.js';

const G = '/apis/holdfast.dev/v1alpha1';

async function waitForCondition(cp: TestControlPlane, server: string, type: string, want: string, ms = 30_000): Promise<Resource> {
  const until = Date.now() + ms;
  let last: Resource | undefined;
  while (Date.now() < until) {
    last = (await cp.call('GET', `${G}/servers/${server}`)).body as Resource;
    const c = last.status?.conditions?.find((x) => x.type === type);
    if (c?.status === want) return last;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.fail(`server ${server}: condition ${type} never became ${want}; status: ${JSON.stringify(last?.status)}`);
}

describe('server controller on real hosts', () => {
  let cp: TestControlPlane;
  let hosts: TestHosts;
  let silent: NetServer;
  let silentPort: number;

  before(async () => {
    hosts = await loadTestHosts({ count: 2 });
    cp = await startTestControlPlane('pglite');
    const key = readPrivateKey(testHost(hosts, 1));
    assert.equal((await cp.call('POST', `${G}/sshkeys`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'test-key' }, spec: { privateKey: key } })).status, 201);
    // A port that accepts TCP and never speaks SSH.
    silent = createServer(() => {});
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    silentPort = (silent.address() as { port: number }).port;
  });
  after(async () => {
    await cp?.stop();
    silent?.close();
  });

  it('checks a Docker host, pins its host key on first contact and records an event', async () => {
    const h = testHost(hosts, 2);
    await cp.call('POST', `${G}/servers`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'edge-2' }, spec: { kind: 'docker-engine', host: h.address, port: h.port, user: h.user, sshKeyRef: { name: 'test-key' } } });
    const server = await waitForCondition(cp, 'edge-2', 'Ready', 'True');
    const status = server.status as Record<string, any>;
    assert.equal(status.hostKeyFingerprint, h.hostKeyFingerprint);
    assert.match(status.docker.version, /^\d+\.\d+/);
    assert.ok(status.latencyMs >= 0);
    assert.equal(status.checks.find((c: { name: string }) => c.name === 'ssh').result, 'Pass');
    assert.equal(status.conditions.find((c: { type: string }) => c.type === 'HostKeyVerified').reason, 'PinnedOnFirstContact');
    // Free disk of the Docker data root and the load, read with one shell command on the host.
    const disk = status.checks.find((c: { name: string }) => c.name === 'disk');
    assert.ok(['Pass', 'Warn'].includes(disk.result), JSON.stringify(disk));
    assert.match(disk.message, /free of .* on \/\S*, which holds the Docker data root/);
    assert.ok(status.resources.diskFreeBytes > 0 && status.resources.load1 >= 0, JSON.stringify(status.resources));
    // Available memory from the same command; what Docker's objects take from /system/df; the first free-disk sample.
    assert.ok(status.resources.memoryAvailableBytes > 0 && status.resources.memoryAvailableBytes <= status.resources.memoryBytes, JSON.stringify(status.resources));
    for (const what of ['images', 'containers', 'volumes', 'buildCache']) {
      const usage = status.resources.dockerDisk[what];
      assert.ok(usage.count >= 0 && usage.sizeBytes >= usage.reclaimableBytes && usage.reclaimableBytes >= 0, `${what}: ${JSON.stringify(usage)}`);
    }
    assert.ok(status.resources.dockerDisk.images.count > 0, 'the test host has images');
    assert.deepEqual(status.resources.diskFreeHistory.map((s: { freeBytes: number }) => s.freeBytes), [status.resources.diskFreeBytes]);
    assert.ok(['DiskSpaceOk', 'DiskSpaceLow'].includes(status.conditions.find((c: { type: string }) => c.type === 'DiskPressure').reason));
    assert.equal(status.conditions.find((c: { type: string }) => c.type === 'MemoryPressure').reason, 'MemoryOk', 'the test host has memory to spare');
    const events = await cp.call('GET', `${G}/namespaces/default/events?fieldSelector=involvedObject.name%3Dedge-2`);
    assert.ok(events.body.items.some((e: { reason: string }) => e.reason === 'HostKeyPinned'), JSON.stringify(events.body.items.map((e: { reason: string }) => e.reason)));
  });

  it('reports the Swarm topology of a manager', async () => {
    const h = testHost(hosts, 1);
    await cp.call('POST', `${G}/servers`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'swarm-1' }, spec: { kind: 'docker-swarm-manager', host: h.address, port: h.port, user: h.user, sshKeyRef: { name: 'test-key' }, hostKeyFingerprint: h.hostKeyFingerprint } });
    const server = await waitForCondition(cp, 'swarm-1', 'Ready', 'True');
    const status = server.status as Record<string, any>;
    assert.equal(status.docker.swarm.role, 'manager');
    const nodeList = status.docker.swarm.nodeList as Array<Record<string, any>>;
    assert.equal(nodeList.length, status.docker.swarm.nodes);
    assert.deepEqual([nodeList[0]!.hostname, nodeList[0]!.role, nodeList[0]!.leader, nodeList[0]!.state], [h.name, 'manager', true, 'ready']);
    assert.equal(nodeList[0]!.engineVersion, status.docker.version);
    const workerNames = (await hostDocker(h, 'node', 'ls', '--filter', 'role=worker', '--format', '{{.Hostname}}')).split('\n').filter(Boolean);
    const workers = hosts.hosts.filter((x) => workerNames.includes(x.name));
    assert.ok(workers.length >= 1, 'the test swarm has a worker');
    for (const w of workers) {
      const member = nodeList.find((n) => n.hostname === w.name);
      assert.deepEqual([member?.role, member?.state, member?.availability, member?.address], ['worker', 'ready', 'active', w.address], JSON.stringify(nodeList));
    }
    const swarmCheck = status.checks.find((c: { name: string }) => c.name === 'swarm');
    assert.match(swarmCheck.message, new RegExp(`1 manager\\(s\\), ${workers.length} worker\\(s\\)`));
    assert.equal(status.conditions.find((c: { type: string }) => c.type === 'HostKeyVerified').reason, 'PinnedInSpec');
  });

  it('refuses a host whose key differs from the pinned one, before authenticating', async () => {
    const h = testHost(hosts, 2);
    const other = testHost(hosts, 1).hostKeyFingerprint;
    await cp.call('POST', `${G}/servers`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'impostor' }, spec: { host: h.address, port: h.port, user: h.user, sshKeyRef: { name: 'test-key' }, hostKeyFingerprint: other } });
    const server = await waitForCondition(cp, 'impostor', 'HostKeyVerified', 'False');
    const cond = server.status!.conditions!.find((c) => c.type === 'HostKeyVerified')!;
    assert.equal(cond.reason, 'HostKeyMismatch');
    assert.match(cond.message, new RegExp(other.replace(/[+/]/g, '.')));
    assert.equal(server.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
  });

  it('ends a port that never speaks SSH in a clear timeout, and a missing key in a clear condition', async () => {
    await cp.call('POST', `${G}/servers`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'mute' }, spec: { host: '127.0.0.1', port: silentPort, user: 'root', sshKeyRef: { name: 'test-key' } } });
    const mute = await waitForCondition(cp, 'mute', 'Ready', 'False', 60_000);
    assert.match(mute.status!.conditions!.find((c) => c.type === 'Ready')!.reason, /ConnectTimeout|Timeout|Unreachable/);
    await cp.call('POST', `${G}/servers`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'keyless' }, spec: { host: '127.0.0.1', user: 'root', sshKeyRef: { name: 'no-such-key' } } });
    const keyless = await waitForCondition(cp, 'keyless', 'Ready', 'False');
    assert.match(keyless.status!.conditions!.find((c) => c.type === 'Ready')!.message, /SSHKey "no-such-key" not found/);
  });
});
