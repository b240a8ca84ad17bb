// Failures on a real host and the way back, on the test host reserved for disruption: the SSH
// connection cut in the middle of an operation, and dockerd stopped and started again. Sessions and
// caches must report a clear error and then recover by themselves.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SshCommandRunner } from '../../../hosts/exec.js';
import { ConnectionLost, DockerUnavailable } from '../../../hosts/errors.js';
import { LiveStateCache } from '../../../hosts/live-cache.js';
import type { SessionStateChange } from '../../../hosts/ssh-session.js';
import { loadTestHosts, testHost, type TestHost, type TestHosts } from '../../support/testhosts.js';
import { DISRUPTED_HOST, dockerOver, hostDocker, sessionFor, uniqueName, waitFor } from './fixtures.js';

let hosts: TestHosts;
let target: TestHost;
const label = uniqueName('hf-recovery');
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  hosts = await loadTestHosts({ count: DISRUPTED_HOST });
  target = testHost(hosts, DISRUPTED_HOST);
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  // Leave the host as the setup made it, whatever happened above.
  await loadTestHosts({ count: DISRUPTED_HOST });
  await hostDocker(target, ['ps', '-aq', '--filter', `label=holdfast.test/run=${label}`]).then(async (ids) => {
    if (ids) await hostDocker(target, ['rm', '-f', ...ids.split('\n')]);
  });
});

function watched() {
  const changes: SessionStateChange[] = [];
  const session = sessionFor(target, { reconnect: { baseMs: 50, capMs: 500 } });
  session.onStateChange((change) => changes.push(change));
  const docker = dockerOver(session);
  const cache = new LiveStateCache(docker, { retry: { baseMs: 50, capMs: 500 }, containerLabels: [`holdfast.test/run=${label}`] });
  // The registry kicks the cache on reconnect; the same wiring here.
  session.onStateChange((change) => change.state === 'connected' && change.previous !== 'idle' && cache.kick());
  closers.push(async () => {
    await cache.stop();
    await docker.close();
    await session.close();
  });
  return { session, docker, cache, changes };
}

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // Field 4 of /proc/PID/stat is the parent pid; the command name before it may hold spaces.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function runLabelled(name: string): Promise<string> {
  // httpd as PID 1 ignores SIGTERM; a short stop timeout keeps dockerd's shutdown quick.
  return hostDocker(target, ['run', '-d', '--stop-timeout', '1', '--name', name, '--label', `holdfast.test/run=${label}`, hosts.images.v1]);
}

describe('recovery', () => {
  it('fails an operation whose connection is cut, then reconnects by itself and resyncs the cache', async () => {
    const { session, docker, cache, changes } = watched();
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(10_000));
    const pending = new SshCommandRunner(session).run(['sleep', '10']);
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Cut every SSH connection to this host: kill the per-connection sshd processes.
    const listener = Number(readFileSync(target.sshdPidFile, 'utf8').trim());
    const connections = childrenOf(listener);
    assert.ok(connections.length > 0, 'an sshd process per connection');
    const cutAt = Date.now();
    for (const pid of connections) process.kill(pid, 'SIGKILL');

    const error = await pending.catch((err: unknown) => err);
    assert.ok(error instanceof ConnectionLost, `got ${String(error)}`);
    assert.ok(Date.now() - cutAt < 2000, 'the cut was noticed at once');
    assert.equal(error.server, target.name);

    await waitFor('the session to reconnect', () => session.state === 'connected' || undefined, 10_000);
    const states = changes.map((c) => c.state);
    const lost = states.indexOf('disconnected');
    assert.ok(lost > 0, `states: ${states.join(' → ')}`);
    assert.deepEqual(states.slice(lost, lost + 2), ['disconnected', 'reconnecting']);
    assert.equal(states.at(-1), 'connected');
    assert.ok(changes[lost]!.error instanceof ConnectionLost);
    assert.match((await docker.ping()).apiVersion, /^1\./);

    // The event stream broke with the connection; the cache lists again and follows new changes.
    await waitFor('the cache to watch again', () => cache.status.watching || undefined, 10_000);
    const id = await runLabelled(uniqueName('hf-after-cut'));
    await waitFor('the cache to see a container started after the cut', () => cache.snapshot().containers.has(id) || undefined, 5000);
  });

  it('reports a stopped dockerd clearly and recovers when it is back, on the same SSH connection', async () => {
    const { session, docker, cache, changes } = watched();
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(10_000));
    const before = await runLabelled(uniqueName('hf-before-stop'));
    await waitFor('the first container', () => cache.snapshot().containers.has(before) || undefined, 5000);
    const connectedChanges = changes.length;

    const dockerd = Number(readFileSync(target.dockerdPidFile, 'utf8').trim());
    process.kill(dockerd, 'SIGTERM');
    await waitFor('dockerd to exit', () => {
      try {
        process.kill(dockerd, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 40_000, 100);

    const error = await docker.ping().catch((err: unknown) => err);
    assert.ok(error instanceof DockerUnavailable, `got ${String(error)}`);
    assert.match(error.message, new RegExp(`server ${target.name}: Docker Engine not reachable: .*is dockerd running\\?`));
    await waitFor('the cache to notice', () => (!cache.status.watching && cache.status.lastError ? true : undefined), 10_000);
    assert.ok(cache.status.lastError instanceof DockerUnavailable);
    assert.equal(session.state, 'connected', 'SSH is unaffected by dockerd stopping');

    await loadTestHosts({ count: DISRUPTED_HOST }); // starts dockerd again
    assert.equal((await docker.info()).Name, target.name);
    await waitFor('the cache to watch again', () => cache.status.watching || undefined, 10_000);
    // Containers stopped with the daemon: the resync after the gap shows the stopped state.
    await waitFor('the resync', () => cache.snapshot().containers.get(before)?.State?.Running === false || undefined, 5000);
    const after = await runLabelled(uniqueName('hf-after-start'));
    await waitFor('a container started after the restart', () => cache.snapshot().containers.get(after)?.State?.Running || undefined, 5000);
    assert.equal(changes.length, connectedChanges, 'no reconnect was needed');
  });
});
