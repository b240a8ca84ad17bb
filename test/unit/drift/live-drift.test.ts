// Live vs frozen on real `docker inspect` output (testdata/, made on a test host by capture.ts):
// each change people make to a host, and the exact drift entries it must show; and nothing at all
// for containers as Holdfast made them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex, type FrozenInput } from '../../../core/deploy/container-spec.js';
import type { DockerContainerInspect } from '../../../core/deploy/docker-types.js';
import { buildLiveView, computeServiceDrift, diffLiveAgainstFrozen, serviceLiveContainers, type DriftEntry } from '../../../core/drift/index.js';
import { DAEMON, hashSecret, imageFixture, inspectFixture, SECRET_VALUE, webFrozen, workerFrozen } from './fixtures.js';

const images = [imageFixture('image-busybox-1'), imageFixture('image-busybox-2')];
const web = webFrozen();
const workers = workerFrozen();
const WEB = web.containers[0].name;
const W1 = workers.containers[0].name;
const W2 = workers.containers[1].name;

function liveOf(frozen: FrozenInput, fixtures: Array<string | DockerContainerInspect>) {
  const containers = fixtures.map((f) => (typeof f === 'string' ? inspectFixture(f) : f));
  return serviceLiveContainers({ containers, images, networks: [], volumes: [] }, frozen, { hashSecret, daemon: DAEMON });
}

const drift = (frozen: FrozenInput, fixtures: Array<string | DockerContainerInspect>, ignorePaths: string[] = []) =>
  diffLiveAgainstFrozen(frozen, liveOf(frozen, fixtures), { ignorePaths });

const secretHash = sha256Hex(SECRET_VALUE);
const live = (path: string, kind: DriftEntry['kind'], expected: unknown, actual: unknown): DriftEntry => {
  const entry: DriftEntry = { path, kind, source: 'live-vs-frozen' };
  if (expected !== undefined) entry.expected = expected;
  if (actual !== undefined) entry.actual = actual;
  return entry;
};

describe('live vs frozen: containers as Holdfast made them show no drift', () => {
  const cases: Array<[string, FrozenInput, string[]]> = [
    ['web, healthy', web, ['web-running']],
    ['web, still starting its healthcheck', web, ['web-running-again']],
    ['both worker replicas', workers, ['worker-1-running', 'worker-2-running']],
    ["another Service's containers and an unmanaged one are not ours", web, ['web-running', 'worker-1-running', 'worker-2-running']],
  ];
  for (const [what, frozen, fixtures] of cases) it(what, () => assert.deepEqual(drift(frozen, fixtures), []));

  it("normalises only the Service's own containers (by name or labels), not every container of the host", () => {
    const names = (frozen: FrozenInput, fixtures: string[]) => liveOf(frozen, fixtures).map((c) => c.name).sort();
    assert.deepEqual(names(web, ['web-running', 'worker-1-running', 'worker-2-running']), [WEB]);
    assert.deepEqual(names(workers, ['web-running', 'worker-1-running', 'worker-2-running']), [W1, W2].sort());
  });

  it('the live view then equals the frozen input, field for field', () => {
    const view = buildLiveView('edge', web, liveOf(web, ['web-running']), web);
    assert.deepEqual(view, web);
  });
});

describe('live vs frozen: what changed on the host, field by field', () => {
  const cases: Array<[string, FrozenInput, Array<string | DockerContainerInspect>, DriftEntry[]]> = [
    ['docker stop', web, ['web-stopped'], [live(`containers[${WEB}].state.status`, 'changed', 'running', 'exited (exit code 137)')]],
    ['docker kill', web, ['web-killed'], [live(`containers[${WEB}].state.status`, 'changed', 'running', 'exited (exit code 137)')]],
    ['docker rm', web, [], [live(`containers[${WEB}]`, 'missing', { image: 'holdfast-test/busybox:1' }, undefined)]],
    ['a crash loop (restarting)', web, ['web-restarting'], [live(`containers[${WEB}].state.status`, 'changed', 'running', 'restarting (2 restarts)')]],
    ['the healthcheck turned failing', web, ['web-unhealthy'], [live(`containers[${WEB}].state.health`, 'changed', 'healthy', 'unhealthy')]],
    ['docker update --restart always', web, ['web-restart-always'], [live(`containers[${WEB}].restartPolicy`, 'changed', { name: 'unless-stopped' }, { name: 'always' })]],
    ['re-created by hand with other env', web, ['web-other-env'], [live(`containers[${WEB}].env.GREETING`, 'changed', { value: 'hello' }, { value: 'hi' })]],
    [
      're-created by hand with another secret value (compared by hash)',
      web,
      ['web-other-secret'],
      [
        live(
          `containers[${WEB}].env.DB_PASSWORD`,
          'changed',
          { secretRef: { name: 'db', key: 'password' }, secretHash },
          { secretRef: { name: 'db', key: 'password' }, secretHash: sha256Hex('typed-in-by-hand') },
        ),
      ],
    ],
    ['re-created by hand with another image', web, ['web-other-image'], [live(`containers[${WEB}].image`, 'changed', 'holdfast-test/busybox:1', 'holdfast-test/busybox:2')]],
    [
      're-created by hand with another host port',
      web,
      ['web-other-port'],
      [live(`containers[${WEB}].ports[8080/tcp]`, 'changed', { containerPort: 8080, protocol: 'tcp', hostPort: 18495 }, { containerPort: 8080, protocol: 'tcp', hostPort: 18496 })],
    ],
    [
      're-created by hand with another label and a changed one',
      web,
      ['web-other-label'],
      [live(`containers[${WEB}].labels.owner`, 'unexpected', undefined, 'ops'), live(`containers[${WEB}].labels.tier`, 'changed', 'frontend', 'backend')],
    ],
    [
      're-created by hand with another mount',
      web,
      ['web-other-mount'],
      [live(`containers[${WEB}].mounts[/scratch]`, 'unexpected', undefined, { type: 'bind', source: '/tmp', target: '/scratch', readOnly: true, createHostPath: true })],
    ],
    [
      'a second container carrying our labels',
      web,
      ['web-running', 'web-copy'],
      [live(`containers[${WEB}-copy]`, 'unexpected', undefined, { image: 'holdfast-test/busybox:1', id: inspectFixture('web-copy').Id.slice(0, 12), state: 'running' })],
    ],
    ['replicas short', workers, ['worker-1-running'], [live(`containers[${W2}]`, 'missing', { image: 'holdfast-test/busybox:1' }, undefined)]],
    ['every replica gone', workers, [], [live(`containers[${W1}]`, 'missing', { image: 'holdfast-test/busybox:1' }, undefined), live(`containers[${W2}]`, 'missing', { image: 'holdfast-test/busybox:1' }, undefined)]],
  ];
  for (const [what, frozen, fixtures, expected] of cases) {
    it(what, () => {
      const found = drift(frozen, fixtures);
      assert.deepEqual(found, expected);
      assert.ok(!JSON.stringify(found).includes(SECRET_VALUE), 'secret values never appear, only their hashes');
    });
  }
});

describe('live vs frozen: states that are not drift', () => {
  it('a one-shot component that exited 0 is done, one that exited 1 is drift', () => {
    const oneShot: FrozenInput = { ...workers, components: workers.components.map((c) => ({ ...c, runsToCompletion: true })) };
    const exited = (code: number) => {
      const c = inspectFixture('worker-1-running');
      c.State = { ...c.State, Status: 'exited', Running: false, ExitCode: code };
      return c;
    };
    assert.deepEqual(drift(oneShot, [exited(0), 'worker-2-running']), []);
    assert.deepEqual(drift(oneShot, [exited(1), 'worker-2-running']), [live(`containers[${W1}].state.status`, 'changed', 'running', 'exited (exit code 1)')]);
  });
  it('a paused container is drift', () => {
    const c = inspectFixture('web-running');
    c.State = { ...c.State, Status: 'paused', Paused: true };
    assert.deepEqual(drift(web, [c]), [live(`containers[${WEB}].state.status`, 'changed', 'running', 'paused')]);
  });
  it("a second container's secret env is read as a hash, like the Service's own", () => {
    const copy = liveOf(web, ['web-running', 'web-copy']).find((c) => c.name === `${WEB}-copy`)!;
    assert.deepEqual(copy.env.DB_PASSWORD, { secretRef: { name: 'db', key: 'password' }, secretHash });
    assert.ok(!JSON.stringify(buildLiveView('edge', web, liveOf(web, ['web-running', 'web-copy']), web)).includes(SECRET_VALUE));
  });
  it('a leftover start-first replacement (.next) is an unexpected container', () => {
    const c = inspectFixture('web-copy');
    c.Name = `/${WEB}.next`;
    assert.deepEqual(drift(web, ['web-running', c]).map((e) => [e.path, e.kind]), [[`containers[${WEB}.next]`, 'unexpected']]);
  });
});

describe('live vs frozen: driftPolicy.ignoreDifferences', () => {
  const cases: Array<[string, string[], string[], string[]]> = [
    ['a path within each container', ['web-other-env'], ['env.GREETING'], []],
    ['a prefix within each container', ['web-other-label'], ['labels'], []],
    ['one field of one container', ['web-other-label'], [`containers[${WEB}].labels.owner`], [`containers[${WEB}].labels.tier`]],
    ['health', ['web-unhealthy'], ['state.health'], []],
    ['another path leaves the drift', ['web-other-env'], ['env.BUILD_ID'], [`containers[${WEB}].env.GREETING`]],
    ['a whole missing container by its path', [], [`containers[${WEB}]`], []],
  ];
  for (const [what, fixtures, ignore, paths] of cases) it(what, () => assert.deepEqual(drift(web, fixtures, ignore).map((e) => e.path), paths));
});

describe('computeServiceDrift', () => {
  const owner = web;
  it('judges nothing while a rollout runs, and live vs frozen only when the host was read', () => {
    const liveContainers = liveOf(web, ['web-stopped']);
    const during = computeServiceDrift({ server: 'edge', owner, declared: web, frozen: web, live: liveContainers, rolloutInProgress: true });
    assert.deepEqual([during.entries, during.checked], [[], []]);
    const unread = computeServiceDrift({ server: 'edge', owner, declared: web, frozen: web });
    assert.deepEqual([unread.entries, unread.checked, unread.live], [[], ['declared-vs-frozen'], undefined]);
    const after = computeServiceDrift({ server: 'edge', owner, declared: web, frozen: web, live: liveContainers });
    assert.deepEqual(after.checked, ['live-vs-frozen', 'declared-vs-frozen']);
    assert.deepEqual(after.entries.map((e) => e.path), [`containers[${WEB}].state.status`]);
  });
  it('shows the state of a drifted container in the live view, and only there', () => {
    const result = computeServiceDrift({ server: 'edge', owner, declared: web, frozen: web, live: liveOf(web, ['web-stopped']) });
    assert.deepEqual(result.live!.containers[0].state, { status: 'exited (exit code 137)' });
    assert.deepEqual({ ...result.live!.containers[0], state: undefined }, { ...web.containers[0], state: undefined });
  });
  it('before the first deployment: no drift, and the live view lists what carries the labels', () => {
    const result = computeServiceDrift({ server: 'edge', owner, declared: web, live: liveOf(web, ['web-running', 'worker-1-running']) });
    assert.deepEqual(result.entries, []);
    assert.deepEqual(result.checked, ['live-vs-frozen', 'declared-vs-frozen']);
    assert.deepEqual(result.live!.target, { server: 'edge' });
    assert.deepEqual(result.live!.containers.map((c) => c.name), [WEB]);
  });
});

describe('live vs frozen: health, the default network and partly-labelled intruders', () => {
  const withState = (fixture: string, state: Record<string, unknown>, restartCount?: number) => {
    const c = inspectFixture(fixture);
    c.State = { ...c.State, ...state };
    if (restartCount !== undefined) c.RestartCount = restartCount;
    return c;
  };
  it('a crash loop is one stable entry with the exit code, whether Docker is between restarts or has just started it again', () => {
    const restarting = withState('web-restarting', { ExitCode: 3 }, 6);
    assert.deepEqual(drift(web, [restarting]), [live(`containers[${WEB}].state.status`, 'changed', 'running', 'crash loop (exit code 3)')]);
    const justStarted = withState('web-running', { StartedAt: new Date(Date.now() - 500).toISOString() }, 7);
    const found = diffLiveAgainstFrozen(web, liveOf(web, [justStarted]), { lastExitCodes: new Map([[WEB, 3]]) });
    assert.deepEqual(found, [live(`containers[${WEB}].state.status`, 'changed', 'running', 'crash loop (exit code 3)')]);
  });
  it('a readiness probe failing failureThreshold times is a health entry; below it, nothing', () => {
    const probed = { ...workers, components: workers.components.map((c) => ({ ...c, readiness: { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 3, startPeriodSeconds: 0 } })) };
    const record = (failures: number) => ({ consecutiveFailures: failures, consecutiveSuccesses: 0, passing: failures < 3, lastDetail: 'answered 404' });
    const live2 = liveOf(probed, ['worker-1-running', 'worker-2-running']);
    assert.deepEqual(diffLiveAgainstFrozen(probed, live2, { probes: new Map([[W1, record(2)]]) }), []);
    assert.deepEqual(diffLiveAgainstFrozen(probed, live2, { probes: new Map([[W1, record(3)]]) }), [
      live(`containers[${W1}].state.health`, 'changed', 'healthy', 'readiness probe failing (failureThreshold 3 reached)'),
    ]);
  });
  it('a container taken off the default network is missing it', () => {
    const c = inspectFixture('web-running');
    c.NetworkSettings = { ...c.NetworkSettings, Networks: {} };
    assert.deepEqual(drift(web, [c]), [live(`containers[${WEB}].networks[bridge]`, 'missing', { name: 'bridge' }, undefined)]);
  });
  it("a container with only our managed-by and the Service's labels is unexpected; one of another project is not ours", () => {
    const partly = (labels: Record<string, string>) => {
      const c = inspectFixture('web-copy');
      c.Name = '/intruder';
      c.Config = { ...c.Config, Labels: labels };
      return c;
    };
    const intruder = partly({ 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/service': 'web' });
    assert.deepEqual(drift(web, ['web-running', intruder]).map((e) => [e.path, e.kind]), [['containers[intruder]', 'unexpected']]);
    const foreign = partly({ 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/service': 'web', 'holdfast.dev/project': 'elsewhere' });
    assert.deepEqual(drift(web, ['web-running', foreign]), []);
  });
});
