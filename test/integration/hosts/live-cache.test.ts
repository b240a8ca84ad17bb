// The live-state cache against real hosts: it lists on start, follows changes made behind its back
// (straight on the host's socket) through the event stream well within a second, filters by label,
// follows Swarm services and tasks on a manager, and costs nothing while the host is quiet.
// test-hosts: first (host 1 is the Swarm manager)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DockerClient } from '../../../hosts/docker-client.js';
import { LiveStateCache, type LiveChange } from '../../../hosts/live-cache.js';
import { HostCounters } from '../../../hosts/observer.js';
import type { SshSession } from '../../../hosts/ssh-session.js';
import { loadTestHosts, testHost, type TestHost, type TestHosts } from '../../support/testhosts.js';
import { dockerOver, hostDocker, sessionFor, uniqueName, waitFor } from './fixtures.js';

let hosts: TestHosts;
let host: TestHost;
const label = uniqueName('hf-cache');
const cleanups: Array<() => Promise<unknown>> = [];
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  hosts = await loadTestHosts({ count: 2 });
  host = testHost(hosts, 2);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  for (const close of closers.reverse()) await close();
});

function cacheFor(target: TestHost, options: ConstructorParameters<typeof LiveStateCache>[1] = {}): {
  cache: LiveStateCache;
  counters: HostCounters;
  session: SshSession;
  docker: DockerClient;
  changes: LiveChange[];
} {
  const counters = new HostCounters();
  const session = sessionFor(target, { observer: counters });
  const docker = dockerOver(session, counters);
  const cache = new LiveStateCache(docker, options);
  const changes: LiveChange[] = [];
  cache.subscribe((change) => changes.push(change));
  closers.push(async () => {
    await cache.stop();
    await docker.close();
    await session.close();
  });
  return { cache, counters, session, docker, changes };
}

async function run(target: TestHost, name: string, extra: string[] = [], command: string[] = []): Promise<string> {
  const id = await hostDocker(target, ['run', '-d', '--name', name, '--label', `holdfast.test/run=${label}`, ...extra, hosts.images.v1, ...command]);
  cleanups.push(() => hostDocker(target, ['rm', '-f', id]));
  return id;
}

describe('live-state cache of a Docker host', () => {
  it('lists existing containers on start and follows a docker stop made behind its back in well under a second', async () => {
    const existing = await run(host, uniqueName('hf-existing'));
    const { cache, changes, counters } = cacheFor(host, { containerLabels: [`holdfast.test/run=${label}`] });
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(10_000));
    const snapshot = cache.snapshot();
    assert.equal(snapshot.synced, true);
    assert.equal(snapshot.watching, true);
    assert.equal(snapshot.swarmManager, false);
    assert.deepEqual([...snapshot.containers.keys()], [existing]);
    assert.equal(snapshot.containers.get(existing)?.State?.Running, true);
    assert.deepEqual(changes.map((c) => [c.type, c.kind, c.id]), [['added', 'container', existing]]);

    await hostDocker(host, ['stop', '-t', '0', existing]);
    const stoppedAt = performance.now();
    await waitFor('the cache to see the stop', () => cache.snapshot().containers.get(existing)?.State?.Running === false || undefined, 5000, 5);
    const latencyMs = performance.now() - stoppedAt;
    assert.ok(latencyMs < 1000, `the cache saw the stop after ${latencyMs.toFixed(0)} ms`);
    const update = changes.find((c) => c.type === 'updated' && c.id === existing && c.kind === 'container');
    assert.ok(update && update.kind === 'container');
    assert.equal(update.previous?.State?.Running, true);

    const created = await run(host, uniqueName('hf-new'));
    await waitFor('the new container', () => cache.snapshot().containers.get(created)?.State?.Running || undefined, 5000, 5);
    await hostDocker(host, ['rm', '-f', created]);
    await waitFor('the removal', () => !cache.snapshot().containers.has(created) || undefined, 5000, 5);
    const removal = changes.find((c) => c.type === 'removed' && c.id === created);
    assert.equal(removal?.kind, 'container');
    assert.equal(counters.get(host.name).execs, 0, 'no shell commands');
  });

  it('keeps only containers with the wanted labels', async () => {
    const other = uniqueName('hf-other');
    const wanted = await run(host, uniqueName('hf-wanted'), ['--label', `holdfast.test/pick=${other}`]);
    const unwanted = await run(host, uniqueName('hf-unwanted'));
    const { cache } = cacheFor(host, { containerLabels: [`holdfast.test/pick=${other}`] });
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(10_000));
    const ids = [...cache.snapshot().containers.keys()];
    assert.deepEqual(ids, [wanted]);
    await hostDocker(host, ['restart', '-t', '0', unwanted]);
    const later = await run(host, uniqueName('hf-wanted-later'), ['--label', `holdfast.test/pick=${other}`]);
    await waitFor('the later container', () => cache.snapshot().containers.has(later) || undefined, 5000);
    assert.deepEqual([...cache.snapshot().containers.keys()].sort(), [wanted, later].sort());
  });

  it('costs no API calls while the host is quiet and resyncs on its interval', async () => {
    const { cache, counters } = cacheFor(host, { resyncIntervalMs: 1500, containerLabels: [`holdfast.test/run=${label}`] });
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(10_000));
    const firstSync = cache.status.lastSyncAt!;
    const callsAfterSync = counters.get(host.name).dockerApiCalls;
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(counters.get(host.name).dockerApiCalls, callsAfterSync, 'quiet host, no calls');
    await waitFor('a periodic resync', () => (cache.status.lastSyncAt! > firstSync ? true : undefined), 5000, 50);
    assert.ok(counters.get(host.name).dockerApiCalls > callsAfterSync);
    assert.equal(counters.get(host.name).execs, 0);
  });
});

describe('live-state cache of a Swarm manager', () => {
  it('follows a service and its tasks from create to remove', async () => {
    const manager = testHost(hosts, 1);
    const { cache, changes } = cacheFor(manager, { swarm: 'auto', containerLabels: [`holdfast.test/run=${label}`] });
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(10_000));
    assert.equal(cache.snapshot().swarmManager, true);
    const nodes = (await hostDocker(manager, ['node', 'ls', '--format', '{{.ID}}'])).split('\n').filter(Boolean);
    assert.deepEqual([...cache.snapshot().nodes.keys()].sort(), nodes.sort(), 'every node of the swarm');

    const name = uniqueName('hf-svc');
    const serviceId = await hostDocker(manager, [
      'service', 'create', '--detach', '--no-resolve-image', '--name', name,
      '--label', `holdfast.test/run=${label}`, '--container-label', `holdfast.test/run=${label}`,
      // On the manager, whose own containers the cache follows too.
      '--constraint', 'node.role==manager',
      '--restart-condition', 'none', '--stop-grace-period', '0s', hosts.images.v1, 'sleep', '120',
    ]);
    cleanups.push(() => hostDocker(manager, ['service', 'rm', serviceId]));
    await waitFor('the service', () => cache.snapshot().services.get(serviceId) ?? undefined, 10_000);
    assert.equal(cache.snapshot().services.get(serviceId)?.Spec?.Name, name);
    const task = await waitFor(
      'a running task',
      () => [...cache.snapshot().tasks.values()].find((t) => t.ServiceID === serviceId && t.Status?.State === 'running'),
      20_000,
    );
    const containerId = task.Status?.ContainerStatus?.ContainerID;
    assert.ok(containerId && cache.snapshot().containers.has(containerId), 'the task container is cached too');

    await hostDocker(manager, ['service', 'rm', serviceId]);
    await waitFor('the service and its tasks to go', () => {
      const snapshot = cache.snapshot();
      return (!snapshot.services.has(serviceId) && ![...snapshot.tasks.values()].some((t) => t.ServiceID === serviceId)) || undefined;
    }, 20_000);
    assert.ok(changes.some((c) => c.kind === 'service' && c.type === 'removed' && c.id === serviceId));
    assert.ok(changes.some((c) => c.kind === 'task' && c.type === 'removed' && c.id === task.ID));
  });
});
