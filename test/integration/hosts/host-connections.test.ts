// The registry the controllers use: one kept connection per server, reused while its settings hold,
// replaced when they change, closed on shutdown; `local` servers reach their socket directly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HostConnections, HostCounters, type ServerConnectionConfig } from '../../../hosts/index.js';
import { loadTestHosts, readPrivateKey, testHost, type TestHost } from '../../support/testhosts.js';

let host: TestHost;
let registry: HostConnections;
const counters = new HostCounters();
const observedKeys: Array<[string, string]> = [];

before(async () => {
  host = testHost(await loadTestHosts({ count: 2 }), 2);
  registry = new HostConnections({ observer: counters, onHostKeyObserved: (server, fp) => observedKeys.push([server, fp]) });
});

after(async () => {
  await registry.closeAll();
});

function config(overrides: Partial<ServerConnectionConfig> = {}): ServerConnectionConfig {
  return {
    name: 'edge-1',
    kind: 'docker-engine',
    host: host.address,
    port: host.port,
    user: host.user,
    privateKey: readPrivateKey(host),
    dockerSocket: '/var/run/docker.sock',
    ...overrides,
  };
}

describe('HostConnections', () => {
  it('records the key on first contact and keeps the connection when that key becomes the pin', async () => {
    const first = registry.get(config());
    assert.equal((await first.docker.info()).Name, host.name);
    assert.deepEqual(observedKeys, [['edge-1', host.hostKeyFingerprint]]);
    const pinned = registry.get(config({ hostKeyFingerprint: host.hostKeyFingerprint }));
    assert.equal(pinned, first);
    assert.equal(registry.get(config({ hostKeyFingerprint: host.hostKeyFingerprint })), first);
  });

  it('replaces the connection when its settings change and closes the old one', async () => {
    const before = registry.get(config({ hostKeyFingerprint: host.hostKeyFingerprint }));
    await before.docker.ping();
    const changed = registry.get(config({ hostKeyFingerprint: host.hostKeyFingerprint, dockerSocket: '/run/docker.sock' }));
    assert.notEqual(changed, before);
    assert.equal((await changed.docker.info()).Name, host.name);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(before.session?.state, 'closed');
  });

  it('tells who waits on a replaced connection that it closed, rather than leaving them waiting', async () => {
    // Nothing listens on port 2222: the first look at the host never comes, until the port is fixed.
    const wrong = registry.get(config({ name: 'edge-2', port: 2222 }));
    const waiting = wrong.liveState.waitForSync();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fixed = registry.get(config({ name: 'edge-2' }));
    const stillWaiting = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
    await assert.rejects(Promise.race([waiting, stillWaiting]), /the connection to server edge-2 was closed before its first look at the host/);
    await fixed.liveState.waitForSync(AbortSignal.timeout(20_000));
    assert.ok(fixed.liveState.snapshot().synced);
  });

  it('runs commands and keeps a live-state cache on the same session', async () => {
    const connection = registry.get(config({ hostKeyFingerprint: host.hostKeyFingerprint, dockerSocket: '/run/docker.sock' }));
    const result = await connection.commands.run(['hostname']);
    assert.equal(result.stdout.trim(), host.name);
    await connection.liveState.waitForSync(AbortSignal.timeout(10_000));
    assert.equal(connection.liveState.snapshot().synced, true);
    assert.equal(connection.liveState, connection.liveState, 'one cache per connection');
  });

  it('reaches a local server through its socket without SSH', async () => {
    const local = registry.get({ name: 'control-plane', kind: 'local', dockerSocket: host.dockerSocket });
    assert.equal(local.session, undefined);
    assert.equal((await local.docker.info()).Name, host.name);
    assert.equal((await local.commands.run(['echo', 'here'])).stdout, 'here\n');
    assert.equal(counters.get('control-plane').dockerApiCalls, 2, 'the version ping, then info');
  });

  it('refuses an SSH server without the settings to reach it, naming what is missing', () => {
    assert.throws(() => registry.get({ name: 'half', kind: 'docker-engine', host: 'h' }), /server half: user, privateKey required/);
  });

  it('closes everything on shutdown and refuses new connections after', async () => {
    const connection = registry.get(config({ hostKeyFingerprint: host.hostKeyFingerprint, dockerSocket: '/run/docker.sock' }));
    await registry.closeAll();
    assert.equal(connection.session?.state, 'closed');
    assert.deepEqual(registry.names(), []);
    assert.throws(() => registry.get(config()), /shut down/);
  });
});
