// The Engine API client over a kept SSH session to real test hosts (and over a local socket):
// system calls, a container's whole life with its published port reached from here, images, builds,
// networks, volumes, events, Swarm objects, and the dial-stdio path for hosts that refuse forwarding.
// test-hosts: first (host 1 is the Swarm manager)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildContextTar } from '../../../core/deploy/context-tar.js';
import type { DockerEvent } from '../../../hosts/docker-api-types.js';
import { DockerClient } from '../../../hosts/docker-client.js';
import { LocalDockerTransport, SshDockerTransport } from '../../../hosts/docker-transport.js';
import { DockerApiError, DockerUnavailable, OperationTimeout, isDockerNotFound } from '../../../hosts/errors.js';
import { HostCounters } from '../../../hosts/observer.js';
import { SshSession } from '../../../hosts/ssh-session.js';
import { loadTestHosts, readPrivateKey, testHost, type TestHost, type TestHosts } from '../../support/testhosts.js';
import { DISRUPTED_HOST, dockerOver, sessionFor, testPort, uniqueName, waitFor } from './fixtures.js';

let hosts: TestHosts;
let host: TestHost;
let manager: TestHost;
let session: SshSession;
let docker: DockerClient;
const counters = new HostCounters();
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  hosts = await loadTestHosts({ count: 2 });
  host = testHost(hosts, 2);
  manager = testHost(hosts, 1);
  session = sessionFor(host, { observer: counters });
  docker = dockerOver(session, counters);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await docker.close();
  await session.close();
});

const label = uniqueName('hf-test');

describe('system', () => {
  it('pings, negotiates the API version and reads version and info over the kept session', async () => {
    const ping = await docker.ping();
    assert.match(ping.apiVersion, /^1\.\d+$/);
    const version = await docker.version();
    assert.match(version.Version, /^\d+\.\d+/);
    assert.equal(docker.apiVersion, version.ApiVersion <= '1.45' ? version.ApiVersion : '1.45');
    const info = await docker.info();
    assert.equal(info.Name, host.name);
    assert.equal(session.state, 'connected');
  });

  it('reuses pooled connections: many calls, one SSH connection, no shell commands', async () => {
    const before = counters.get(host.name);
    await Promise.all(Array.from({ length: 20 }, () => docker.listContainers({ all: true })));
    for (let i = 0; i < 20; i++) await docker.listImages();
    const afterCalls = counters.get(host.name);
    assert.equal(afterCalls.dockerApiCalls - before.dockerApiCalls, 40);
    assert.equal(afterCalls.execs, 0);
    assert.equal(session.state, 'connected');
  });
});

describe('a container from create to remove', () => {
  it('runs busybox httpd with a published port reachable at the host address', async () => {
    const name = uniqueName('hf-web');
    const port = testPort();
    const created = await docker.createContainer(name, {
      Image: hosts.images.v1,
      Labels: { 'holdfast.test/run': label },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostPort: String(port) }] } },
    });
    cleanups.push(() => docker.removeContainer(created.Id, { force: true }));
    assert.match(created.Id, /^[0-9a-f]{64}$/);

    const listed = await docker.listContainers({ all: true, filters: { label: [`holdfast.test/run=${label}`] } });
    assert.deepEqual(listed.map((c) => c.Id), [created.Id]);

    await docker.startContainer(created.Id);
    await docker.startContainer(created.Id); // already running: 304, still fine
    const page = await waitFor('the published port to answer', async () => {
      try {
        const response = await fetch(`http://${host.address}:${port}/`, { signal: AbortSignal.timeout(2000) });
        return await response.text();
      } catch {
        return undefined;
      }
    });
    assert.match(page, /holdfast-test busybox v1/);

    const running = await docker.inspectContainer(name);
    assert.equal(running.State?.Running, true);
    assert.equal(running.NetworkSettings?.Ports?.['8080/tcp']?.[0]?.HostPort, String(port));

    const logs = await docker.containerLogs(created.Id, { tail: 50 });
    assert.match(logs.stderr, /response:200/, 'httpd -v logs each request to stderr');

    await docker.stopContainer(created.Id, { timeoutSeconds: 1 });
    await docker.stopContainer(created.Id, { timeoutSeconds: 1 }); // already stopped: 304
    assert.equal((await docker.inspectContainer(created.Id)).State?.Running, false);

    await docker.removeContainer(created.Id);
    const gone = await docker.inspectContainer(created.Id).catch((err: unknown) => err);
    assert.ok(gone instanceof DockerApiError && isDockerNotFound(gone), `got ${String(gone)}`);
    assert.match(gone.message, new RegExp(`server ${host.name}: Docker GET /containers/.*/json failed \\(404\\)`));
  });

  it('reports a name already taken as a 409 Conflict', async () => {
    const name = uniqueName('hf-dup');
    const first = await docker.createContainer(name, { Image: hosts.images.v1 });
    cleanups.push(() => docker.removeContainer(first.Id, { force: true }));
    const error = await docker.createContainer(name, { Image: hosts.images.v1 }).catch((err: unknown) => err);
    assert.ok(error instanceof DockerApiError, `got ${String(error)}`);
    assert.equal(error.statusCode, 409);
    assert.equal(error.reason, 'Conflict');
  });

  it('kills, waits for and renames containers', async () => {
    const name = uniqueName('hf-kill');
    const created = await docker.createContainer(name, { Image: hosts.images.v1, Cmd: ['sleep', '60'] });
    cleanups.push(() => docker.removeContainer(created.Id, { force: true }));
    await docker.startContainer(created.Id);
    const waited = docker.waitContainer(created.Id, 'not-running');
    await docker.killContainer(created.Id, 'SIGKILL');
    assert.equal((await waited).StatusCode, 137);
    await docker.renameContainer(created.Id, `${name}-renamed`);
    assert.equal((await docker.inspectContainer(created.Id)).Name, `/${name}-renamed`);
  });

  it('fails a call past its timeout and keeps working afterwards', async () => {
    const created = await docker.createContainer(uniqueName('hf-wait'), { Image: hosts.images.v1, Cmd: ['sleep', '30'] });
    cleanups.push(() => docker.removeContainer(created.Id, { force: true }));
    await docker.startContainer(created.Id);
    const started = Date.now();
    const error = await docker.waitContainer(created.Id, 'not-running', { timeoutMs: 300 }).catch((err: unknown) => err);
    assert.ok(error instanceof OperationTimeout, `got ${String(error)}`);
    assert.ok(Date.now() - started < 1500);
    assert.equal((await docker.inspectContainer(created.Id)).State?.Running, true);
  });
});

describe('images and builds', () => {
  it('lists, inspects, tags and removes images', async () => {
    const images = await docker.listImages();
    assert.ok(images.some((image) => image.RepoTags?.includes(hosts.images.v1)));
    const inspected = await docker.inspectImage(hosts.images.v1);
    assert.deepEqual(inspected.Config?.Cmd, ['httpd', '-f', '-v', '-p', '8080', '-h', '/www']);
    const repo = `holdfast-test/${uniqueName('tagged')}`;
    await docker.tagImage(hosts.images.v1, repo, 'x');
    cleanups.push(() => docker.removeImage(`${repo}:x`));
    assert.equal((await docker.inspectImage(`${repo}:x`)).Id, inspected.Id);
    const removed = await docker.removeImage(`${repo}:x`);
    assert.ok(removed.some((r) => r.Untagged === `${repo}:x`));
  });

  it('reports a pull that cannot reach its registry as a Docker error', async () => {
    const error = await docker.pullImage('127.0.0.1:1/nothing/here:1', {}, { timeoutMs: 30_000 }).catch((err: unknown) => err);
    assert.ok(error instanceof DockerApiError, `got ${String(error)}`);
    assert.match(error.message, /127\.0\.0\.1:1/);
  });

  it('builds an image from an in-memory context and reports progress', async () => {
    const tag = `holdfast-test/${uniqueName('built')}:1`;
    const context = buildContextTar([
      { path: 'Dockerfile', content: `FROM ${hosts.images.v1}\nCOPY page.html /www/index.html\nRUN test -s /www/index.html\n` },
      { path: 'page.html', content: 'built by the test\n' },
    ]);
    const lines: string[] = [];
    const { imageId } = await docker.buildImage(context, { tags: [tag], labels: { 'holdfast.test/run': label } }, {
      onProgress: (p) => p.stream && lines.push(p.stream),
    });
    cleanups.push(() => docker.removeImage(tag, { force: true }));
    assert.match(imageId ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok(lines.some((line) => line.includes('COPY page.html')), lines.join(''));
    const image = await docker.inspectImage(tag);
    assert.equal(image.Id, imageId);
    assert.equal(image.Config?.Labels?.['holdfast.test/run'], label);
  });

  it('fails a build whose step fails, with the step output in the error', async () => {
    const context = buildContextTar([{ path: 'Dockerfile', content: `FROM ${hosts.images.v1}\nRUN exit 3\n` }]);
    const error = await docker.buildImage(context, { tags: [`holdfast-test/${uniqueName('broken')}:1`] }).catch((err: unknown) => err);
    assert.ok(error instanceof DockerApiError, `got ${String(error)}`);
    assert.match(error.message, /non-zero code: 3/);
  });
});

describe('networks and volumes', () => {
  it('creates, lists, connects and removes a network', async () => {
    const name = uniqueName('hf-net');
    const created = await docker.createNetwork({ Name: name, Labels: { 'holdfast.test/run': label } });
    cleanups.push(() => docker.removeNetwork(created.Id));
    const listed = await docker.listNetworks({ label: [`holdfast.test/run=${label}`] });
    assert.deepEqual(listed.map((n) => n.Name), [name]);
    const container = await docker.createContainer(uniqueName('hf-net-member'), { Image: hosts.images.v1 });
    cleanups.push(() => docker.removeContainer(container.Id, { force: true }));
    await docker.connectNetwork(name, container.Id, { Aliases: ['member'] });
    const inspected = await docker.inspectContainer(container.Id);
    assert.ok(inspected.NetworkSettings?.Networks?.[name], 'container joined the network');
    await docker.disconnectNetwork(name, container.Id);
    await docker.removeContainer(container.Id, { force: true });
    await docker.removeNetwork(name);
    assert.ok(isDockerNotFound(await docker.inspectNetwork(name).catch((err: unknown) => err)));
  });

  it('creates, lists and removes a volume', async () => {
    const name = uniqueName('hf-vol');
    const created = await docker.createVolume({ Name: name, Labels: { 'holdfast.test/run': label } });
    cleanups.push(() => docker.removeVolume(name, { force: true }));
    assert.equal(created.Name, name);
    const listed = await docker.listVolumes({ label: [`holdfast.test/run=${label}`] });
    assert.deepEqual(listed.map((v) => v.Name), [name]);
    assert.equal((await docker.inspectVolume(name)).Labels?.['holdfast.test/run'], label);
    await docker.removeVolume(name);
    assert.ok(isDockerNotFound(await docker.inspectVolume(name).catch((err: unknown) => err)));
  });
});

describe('events', () => {
  it('streams events from a point in time until the signal aborts', async () => {
    const info = await docker.info();
    const since = String(Math.floor(Date.parse(info.SystemTime!) / 1000) - 1);
    const controller = new AbortController();
    const events: DockerEvent[] = [];
    let opened = false;
    const streaming = docker.streamEvents({ since, filters: { label: [`holdfast.test/events=${label}`] } }, (event) => events.push(event), {
      signal: controller.signal,
      onOpen: () => (opened = true),
    });
    const created = await docker.createContainer(uniqueName('hf-ev'), { Image: hosts.images.v1, Labels: { 'holdfast.test/events': label } });
    cleanups.push(() => docker.removeContainer(created.Id, { force: true }));
    await docker.removeContainer(created.Id);
    await waitFor('create and destroy events', () => events.some((e) => e.Action === 'destroy') || undefined, 5000);
    assert.ok(opened);
    assert.deepEqual(events.map((e) => [e.Type, e.Action, e.Actor.ID]), [
      ['container', 'create', created.Id],
      ['container', 'destroy', created.Id],
    ]);
    controller.abort();
    await streaming;
  });
});

describe('swarm objects on a manager', () => {
  it('lists and inspects nodes, services and tasks', async () => {
    const managerSession = sessionFor(manager);
    const managerDocker = dockerOver(managerSession);
    try {
      const nodes = await managerDocker.listNodes();
      const leader = nodes.find((n) => n.ManagerStatus?.Leader);
      assert.ok(leader, 'the manager leads');
      assert.equal((await managerDocker.inspectNode(leader.ID)).Description?.Hostname, manager.name);
      if (host.swarmWorker) assert.ok(nodes.some((n) => n.Description?.Hostname === host.name && n.Spec?.Role === 'worker'), `${host.name} is a worker`);
      assert.ok(Array.isArray(await managerDocker.listServices()));
      assert.ok(Array.isArray(await managerDocker.listTasks()));
      const notSwarm = await docker.listNodes().catch((err: unknown) => err);
      assert.ok(notSwarm instanceof DockerApiError && notSwarm.statusCode === 503, `got ${String(notSwarm)}`);
    } finally {
      await managerDocker.close();
      await managerSession.close();
    }
  });
});

describe('local socket transport', () => {
  it('speaks the same API to a daemon socket on this machine', async () => {
    const local = new DockerClient(new LocalDockerTransport(`${host.name}-local`, host.dockerSocket));
    try {
      assert.equal((await local.info()).Name, host.name);
      const overSsh = (await docker.listContainers({ all: true })).map((c) => c.Id).sort();
      const direct = (await local.listContainers({ all: true })).map((c) => c.Id).sort();
      assert.deepEqual(direct, overSsh);
    } finally {
      await local.close();
    }
  });

  it('fails a missing socket with DockerUnavailable', async () => {
    const local = new DockerClient(new LocalDockerTransport('nowhere', '/nonexistent/docker.sock'));
    const error = await local.ping().catch((err: unknown) => err);
    assert.ok(error instanceof DockerUnavailable, `got ${String(error)}`);
    assert.match(error.message, /\/nonexistent\/docker\.sock: ENOENT/);
    await local.close();
  });
});

describe('a host whose sshd refuses stream-local forwarding', () => {
  let sshd: ChildProcess | undefined;
  let dir: string;

  before(async () => {
    // A second sshd in the disrupted host's namespaces, like the one the setup runs but with forwarding off.
    const target = testHost(await loadTestHosts({ count: DISRUPTED_HOST }), DISRUPTED_HOST);
    dir = mkdtempSync(join(tmpdir(), 'hf-sshd-'));
    const config = readFileSync(`${hosts.stateDir}/h${target.index}/sshd_config`, 'utf8')
      .replace(/^ListenAddress .*$/m, `ListenAddress ${target.address}:2222`)
      .replace(/^PidFile .*$/m, `PidFile ${dir}/sshd.pid`)
      .replace(/^AllowStreamLocalForwarding .*$/m, 'AllowStreamLocalForwarding no');
    writeFileSync(join(dir, 'sshd_config'), config);
    sshd = spawn(
      'nsenter',
      [
        `--net=/var/run/netns/${target.name}`,
        'unshare', '--mount', '--propagation', 'private',
        'sh', '-c',
        'mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && ln -s "$1" /run/docker.sock && exec /usr/sbin/sshd -D -e -f "$2"',
        'sshd-no-forwarding', target.dockerSocket, join(dir, 'sshd_config'),
      ],
      { stdio: 'ignore' },
    );
    await waitFor('the extra sshd to listen', async () => {
      const probe = new SshSession(
        { server: 'probe', host: target.address, port: 2222, user: target.user, privateKey: readPrivateKey(target) },
        { reconnect: false, connectTimeoutMs: 1000 },
      );
      const up = await probe.connect().then(() => true, () => undefined);
      await probe.close();
      return up;
    }, 10_000, 100);
  });

  after(() => {
    if (sshd?.pid) process.kill(sshd.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('falls back to docker system dial-stdio and keeps working', async () => {
    const target = testHost(await loadTestHosts({ count: DISRUPTED_HOST }), DISRUPTED_HOST);
    const fallbackCounters = new HostCounters();
    const fallbackSession = new SshSession(
      { server: target.name, host: target.address, port: 2222, user: target.user, privateKey: readPrivateKey(target), hostKeyFingerprint: target.hostKeyFingerprint },
      { observer: fallbackCounters },
    );
    const transport = new SshDockerTransport(fallbackSession, '/var/run/docker.sock', { observer: fallbackCounters });
    const client = new DockerClient(transport);
    try {
      assert.equal((await client.info()).Name, target.name);
      assert.equal(transport.mode, 'dial-stdio');
      for (let i = 0; i < 5; i++) await client.listContainers();
      const activity = fallbackCounters.get(target.name);
      assert.equal(activity.dockerApiCalls, 7);
      // Keep-alive reuses the dial-stdio process: far fewer commands than calls.
      assert.ok(activity.execs >= 1 && activity.execs <= 2, `${activity.execs} execs`);
    } finally {
      await client.close();
      await fallbackSession.close();
    }
  });
});
