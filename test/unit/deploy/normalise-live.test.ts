// Fixtures in testdata/inspect are `docker inspect` output of containers made on a test host
// (Docker Engine 20.10, API 1.41) with the docker CLI: minimal (plain docker run), full (every -p/-v/
// --tmpfs/--cap-add/... flag), mounts (the --mount API form, an image with ENV/LABEL/EXPOSE/VOLUME/
// WORKDIR/STOPSIGNAL/HEALTHCHECK/CMD), exited, hostnet.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../../../core/deploy/container-spec.js';
import { diffContainerSpecs } from '../../../core/deploy/compare.js';
import type { DockerContainerInspect, DockerImageInspect } from '../../../core/deploy/docker-types.js';
import { normaliseInspect, UNHASHED } from '../../../core/deploy/normalise-live.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { frozenFull, service } from './fixtures.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'inspect');
const load = <T>(name: string): T => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as T;
const container = (name: string) => load<DockerContainerInspect>(`container-${name}`);
const busybox = load<DockerImageInspect>('image-busybox');
const app = load<DockerImageInspect>('image-app');
/** The test hosts' daemon.json sets these log-opts; docker info reports the driver. */
const daemon = { logDriver: 'json-file', logOptions: { 'max-file': '2', 'max-size': '10m' } };
const MiB = 1024 ** 2;

describe('normaliseInspect: a plain docker run', () => {
  const live = normaliseInspect(container('minimal'), busybox, { daemon });
  const cases: Array<[string, unknown, unknown]> = [
    ['name without the slash', live.name, 'fixture-normalise-minimal'],
    ['image as created', live.image, 'holdfast-test/busybox:1'],
    ['no digest for an imported image', live.imageDigest, undefined],
    ["the image's CMD is not a command", live.command, undefined],
    ["the image's EXPOSE is not an exposed port", live.exposedPorts, []],
    ["the image's labels are dropped", live.labels, {}],
    ['no env', live.env, {}],
    ['default bridge: no networks, no mode', [live.networks, live.networkMode], [[], undefined]],
    ['restart policy', live.restartPolicy, { name: 'no' }],
    ['hostname = short id is dropped', live.hostname, undefined],
    ['64 MiB shm is the default', live.shmSizeBytes, undefined],
    ['runc is the default', live.runtime, undefined],
    ['json-file with the daemon log-opts is the default', live.logging, undefined],
    ['null lists read as empty', [live.capAdd, live.dns, live.extraHosts, live.groupAdd, live.ulimits, live.devices], [[], [], [], [], [], []]],
    ['not owned', [live.project, live.service, live.replicaIndex], ['', '', 0]],
    ['id and image id', [live.id.length, live.imageId], [64, busybox.Id]],
    ['state', live.state, { status: 'running', running: true, paused: false, restarting: false, dead: false, oomKilled: false, exitCode: 0, health: 'none', restartCount: 0, startedAt: '2026-11-26T09:03:52.754054736Z' }],
  ];
  for (const [what, actual, expected] of cases) it(what, () => assert.deepEqual(actual, expected));

  it('matches the frozen spec of an image Service that declares nothing more (no false drift)', () => {
    const frozen = renderFrozenInput(service({ source: { image: 'holdfast-test/busybox:1' }, restartPolicy: 'no' }, 'web'), { resolveSecret: () => undefined });
    const expected = frozen.containers[0];
    const diffs = diffContainerSpecs(expected, normaliseInspect(container('minimal'), busybox, { daemon, expected }), { ignorePaths: ['labels'] });
    assert.deepEqual(diffs, []);
  });
});

describe('normaliseInspect: every docker run flag against the equivalent frozen compose service', () => {
  const expected = frozenFull();
  const live = normaliseInspect(container('full'), busybox, { daemon, expected, hashSecret: sha256Hex });

  it('shows no difference', () => assert.deepEqual(diffContainerSpecs(expected, live), []));
  it('reads ownership from the labels', () => {
    assert.deepEqual([live.project, live.environment, live.service, live.component, live.replicaIndex], ['shop', 'production', 'web', 'web', 1]);
  });
  it('compares secrets by hash, never holding the value', () => {
    assert.deepEqual(live.env.DB_PASSWORD, { secretRef: { name: 'db', key: 'password' }, secretHash: sha256Hex('s3cret-value') });
    assert.deepEqual(live.env.DSN, { template: 'postgres://app:${secret:db/password}@db/app', secrets: [{ name: 'db', key: 'password', secretHash: sha256Hex('s3cret-value') }] });
    assert.ok(!JSON.stringify(live).includes('s3cret-value'));
  });
  it('without a hash function, marks secret values as not hashed rather than showing them', () => {
    const unhashed = normaliseInspect(container('full'), busybox, { daemon, expected });
    assert.deepEqual(unhashed.env.DB_PASSWORD, { secretRef: { name: 'db', key: 'password' }, secretHash: UNHASHED });
    assert.ok(!JSON.stringify(unhashed).includes('s3cret-value'));
  });
  it('reads port bindings: one address, every address, a random port', () => {
    assert.deepEqual(live.ports, [
      { containerPort: 8080, protocol: 'tcp', hostPort: 38080, hostIP: '127.0.0.1' },
      { containerPort: 8081, protocol: 'udp', hostPort: 38081 },
      { containerPort: 8082, protocol: 'tcp' },
    ]);
  });
  it('reads Binds, Tmpfs and anonymous volumes', () => {
    assert.deepEqual(live.mounts, [
      { type: 'volume', source: 'fixture-normalise-data', target: '/data', readOnly: false },
      { type: 'bind', source: '/tmp', target: '/host-tmp', readOnly: true, createHostPath: true },
      { type: 'tmpfs', source: '', target: '/run/app', readOnly: false, sizeBytes: 64 * MiB, mode: 0o1777 },
      { type: 'volume', source: '', target: '/var/lib/extra', readOnly: false },
    ]);
  });
  it("drops the network aliases Docker adds (short id, hostname)", () => {
    assert.deepEqual(live.networks, [{ name: 'fixture-normalise-net', aliases: ['web', 'www'] }]);
  });
  it('keeps only the declared log options and drops the daemon-wide ones', () => {
    assert.deepEqual(live.logging, { driver: 'json-file', options: { 'max-size': '10m' } });
  });
  it("strips Docker's CAP_ prefix", () => assert.deepEqual([live.capAdd, live.capDrop], [['CHOWN', 'NET_ADMIN'], ['ALL']]));
  it('reads health', () => assert.equal(live.state.health, 'healthy'));

  // What someone could change on the host, and the drift each change must show.
  type Change = [what: string, change: (c: DockerContainerInspect) => void, diffs: Array<{ path: string; kind: string }>];
  const changes: Change[] = [
    ['env value', (c) => (c.Config!.Env = c.Config!.Env!.map((v) => (v.startsWith('GREETING=') ? 'GREETING=hi' : v))), [{ path: 'env.GREETING', kind: 'changed' }]],
    ['secret value', (c) => (c.Config!.Env = c.Config!.Env!.map((v) => (v.startsWith('DB_PASSWORD=') ? 'DB_PASSWORD=other' : v))), [{ path: 'env.DB_PASSWORD', kind: 'changed' }]],
    ['extra env', (c) => c.Config!.Env!.push('DEBUG=1'), [{ path: 'env.DEBUG', kind: 'unexpected' }]],
    ['missing env', (c) => (c.Config!.Env = c.Config!.Env!.filter((v) => !v.startsWith('GREETING='))), [{ path: 'env.GREETING', kind: 'missing' }]],
    ['image', (c) => (c.Config!.Image = 'holdfast-test/busybox:2'), [{ path: 'image', kind: 'changed' }]],
    ['host port', (c) => (c.HostConfig!.PortBindings!['8080/tcp'] = [{ HostIp: '127.0.0.1', HostPort: '38088' }]), [{ path: 'ports[8080/tcp@127.0.0.1]', kind: 'changed' }]],
    ['label', (c) => (c.Config!.Labels!.tier = 'backend'), [{ path: 'labels.tier', kind: 'changed' }]],
    ['restart policy', (c) => (c.HostConfig!.RestartPolicy = { Name: 'always', MaximumRetryCount: 0 }), [{ path: 'restartPolicy', kind: 'changed' }]],
    ['memory', (c) => (c.HostConfig!.Memory = 1024 * MiB), [{ path: 'resources.memoryBytes', kind: 'changed' }]],
    ['mount', (c) => (c.HostConfig!.Binds = ['fixture-normalise-data:/data', '/srv:/host-tmp:ro']), [{ path: 'mounts[/host-tmp]', kind: 'changed' }]],
    ['network', (c) => (c.NetworkSettings!.Networks = { other: { Aliases: ['web'] } }), [{ path: 'networks[fixture-normalise-net]', kind: 'missing' }, { path: 'networks[other]', kind: 'unexpected' }]],
    ['healthcheck', (c) => (c.Config!.Healthcheck!.Retries = 10), [{ path: 'healthcheck', kind: 'changed' }]],
    ['spec-hash and deployment labels (bookkeeping)', (c) => (c.Config!.Labels!['holdfast.dev/spec-hash'] = 'zzz'), []],
  ];
  for (const [what, change, diffs] of changes) {
    it(`${what} changed on the host → ${diffs.map((d) => d.path).join(', ') || 'no drift'}`, () => {
      const inspect = container('full');
      change(inspect);
      const found = diffContainerSpecs(expected, normaliseInspect(inspect, busybox, { daemon, expected, hashSecret: sha256Hex }));
      assert.deepEqual(found.map((d) => ({ path: d.path, kind: d.kind })), diffs);
      assert.ok(!JSON.stringify(found).includes('s3cret-value'));
    });
  }
  it('honours ignored paths', () => {
    const inspect = container('full');
    inspect.Config!.Env!.push('BUILD_ID=42');
    assert.deepEqual(diffContainerSpecs(expected, normaliseInspect(inspect, busybox, { daemon, expected, hashSecret: sha256Hex }), { ignorePaths: ['env.BUILD_ID'] }), []);
  });
});

describe('normaliseInspect: the --mount form and an image with defaults', () => {
  const live = normaliseInspect(container('mounts'), app, { daemon });
  const cases: Array<[string, unknown, unknown]> = [
    ["image env (PATH, APP_HOME, LANG) is dropped, the container's kept", live.env, { EXTRA: { value: '1' } }],
    ["image CMD, WORKDIR, STOPSIGNAL, HEALTHCHECK are not the container's", [live.command, live.workingDir, live.stopSignal, live.healthcheck], [undefined, undefined, undefined, undefined]],
    ["image labels and EXPOSE are dropped", [live.labels, live.exposedPorts], [{}, []]],
    ['Mounts API: volume with nocopy, read-only bind, tmpfs; no anonymous volume for the image VOLUME', live.mounts, [
      { type: 'tmpfs', source: '', target: '/cache', readOnly: false, sizeBytes: 16 * MiB, mode: 0o1770 },
      { type: 'volume', source: 'fixture-normalise-data', target: '/data', readOnly: false, noCopy: true },
      { type: 'bind', source: '/tmp', target: '/host-tmp', readOnly: true },
    ]],
    ['read-only root filesystem', live.readOnly, true],
    ['devices', live.devices, [{ source: '/dev/null', target: '/dev/nothing', permissions: 'rw' }]],
  ];
  for (const [what, actual, expected] of cases) it(what, () => assert.deepEqual(actual, expected));

  it('keeps a value equal to the image default when the frozen spec declares it', () => {
    const expected = { ...live, env: { EXTRA: { value: '1' }, LANG: { value: 'C.UTF-8' } }, workingDir: '/srv/app', exposedPorts: [{ port: 8080, protocol: 'tcp' as const }] };
    const again = normaliseInspect(container('mounts'), app, { daemon, expected });
    assert.deepEqual(again.env, expected.env);
    assert.equal(again.workingDir, '/srv/app');
    assert.deepEqual(again.exposedPorts, [{ port: 8080, protocol: 'tcp' }]);
    assert.deepEqual(diffContainerSpecs(expected, again), []);
  });
  it('without the image, image defaults show as the container’s (callers should pass the image)', () => {
    const bare = normaliseInspect(container('mounts'), undefined, { daemon });
    assert.equal(bare.workingDir, '/srv/app');
    assert.ok('APP_HOME' in bare.env);
  });
});

describe('normaliseInspect: state, host networking, digests', () => {
  it('reads an exited container', () => {
    const live = normaliseInspect(container('exited'), busybox, { daemon });
    assert.deepEqual(live.command, ['sh', '-c', 'exit 3']);
    assert.equal(live.state.status, 'exited');
    assert.equal(live.state.running, false);
    assert.equal(live.state.exitCode, 3);
    assert.equal(live.state.finishedAt, '2026-11-26T09:04:17.285627648Z');
  });
  it("reads host networking and drops the host's hostname", () => {
    const live = normaliseInspect(container('hostnet'), busybox, { daemon });
    assert.equal(live.networkMode, 'host');
    assert.deepEqual(live.networks, []);
    assert.equal(live.hostname, undefined);
  });
  it("takes the digest from the image's RepoDigests, and matches a tag pinned by that digest", () => {
    const digest = 'sha256:' + 'c'.repeat(64);
    const image = { ...busybox, RepoDigests: [`holdfast-test/busybox@${digest}`] };
    const live = normaliseInspect(container('minimal'), image, { daemon });
    assert.equal(live.imageDigest, digest);
    const byDigest = container('minimal');
    byDigest.Config!.Image = `holdfast-test/busybox@${digest}`;
    const expected = { ...live, image: 'holdfast-test/busybox:1', imageDigest: digest };
    const pinned = normaliseInspect(byDigest, image, { daemon, expected });
    assert.equal(pinned.image, 'holdfast-test/busybox:1');
    assert.deepEqual(diffContainerSpecs(expected, pinned), []);
    const moved = { ...expected, imageDigest: 'sha256:' + 'd'.repeat(64) };
    assert.deepEqual(diffContainerSpecs(moved, normaliseInspect(container('minimal'), image, { daemon, expected: moved })).map((d) => d.path), ['imageDigest']);
  });
});
