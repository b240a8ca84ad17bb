// Table tests of the planner over the scenarios in testdata/scenarios. Each scenario renders a
// Service into its frozen input, builds the live state of the host and lists the expected actions
// (`type target`) and some of their reasons. Live containers come either from real `docker
// inspect` output (test/unit/deploy/testdata/inspect, patched with JSON pointers, normalised as the
// live cache does) or `like: component/replica`: the frozen container as normalisation reads a
// container that runs it (the normalise tests prove that equality on real inspect output).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { ownershipLabels, sha256Hex, type ContainerSpec, type FrozenInput } from '../../../core/deploy/container-spec.js';
import type { DockerContainerInspect, DockerImageInspect } from '../../../core/deploy/docker-types.js';
import { normaliseInspect, type ContainerState, type LiveContainer } from '../../../core/deploy/normalise-live.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { planDeletion } from '../../../core/plan/deletion.js';
import { planRollout } from '../../../core/plan/planner.js';
import { buildLiveState } from '../../../core/plan/live-state.js';
import type { Action, LiveState, PlanOptions } from '../../../core/plan/types.js';
import type { ServiceSpec } from '../../../core/schema/types.generated.js';
import { service } from '../deploy/fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const scenarioDir = join(here, 'testdata', 'scenarios');
const inspectDir = join(here, '..', 'deploy', 'testdata', 'inspect');
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const IMAGES: Record<string, DockerImageInspect> = {
  busybox: readJson(join(inspectDir, 'image-busybox.json')),
  app: readJson(join(inspectDir, 'image-app.json')),
};
const daemon = { logDriver: 'json-file', logOptions: { 'max-file': '2', 'max-size': '10m' } };
/** Secret values exist only here, to make live containers; the frozen input holds their hashes. */
const SECRET_VALUES: Record<string, string> = { 'db/password': 's3cret-value' };

interface LiveContainerFixture {
  like?: string;
  inspect?: string;
  image?: string;
  name?: string;
  state?: 'running' | 'exited' | 'created' | 'paused' | 'dead' | 'restarting';
  set?: Record<string, unknown>;
  unset?: string[];
}

interface Scenario {
  description: string;
  service: { name: string; spec: Partial<ServiceSpec> & Pick<ServiceSpec, 'source'> };
  digests?: Record<string, string>;
  options?: PlanOptions;
  live: {
    containers: LiveContainerFixture[];
    networks?: Array<{ name: string; id: string; driver?: string; labels: Record<string, string> | 'owner' }>;
    volumes?: Array<{ name: string; driver?: string; labels: Record<string, string> | 'owner' }>;
    images?: Array<{ id?: string; repoTags?: string[]; repoDigests?: string[] }>;
  };
  expect: string[];
  reasons?: Array<[number, string]>;
  /** The deployment reason the refusal at this index carries, when more precise than PlanFailed. */
  failure?: [number, string];
}

function pointer(path: string): string[] {
  return path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function setAt(target: unknown, path: string, value: unknown) {
  const keys = pointer(path);
  let node = target as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function unsetAt(target: unknown, path: string) {
  const keys = pointer(path);
  let node = target as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[keys[keys.length - 1]];
}

function stateOf(kind: LiveContainerFixture['state'] = 'running'): ContainerState {
  const base: ContainerState = { status: kind, running: false, paused: false, restarting: false, dead: false, oomKilled: false, exitCode: 0, health: 'none', restartCount: 0 };
  if (kind === 'running') base.running = true;
  if (kind === 'restarting') Object.assign(base, { running: true, restarting: true, exitCode: 3, restartCount: 4 });
  if (kind === 'paused') Object.assign(base, { running: true, paused: true });
  if (kind === 'dead') base.dead = true;
  return base;
}

/** `{{hash web/1}}` → the spec hash of that frozen container. */
function resolvePlaceholders(value: unknown, frozen: FrozenInput): unknown {
  if (typeof value === 'string') {
    return value.replace(/\{\{hash ([^/}]+)\/(\d+)\}\}/g, (_m, component: string, replica: string) => containerOf(frozen, component, Number(replica)).labels['holdfast.dev/spec-hash']);
  }
  if (Array.isArray(value)) return value.map((v) => resolvePlaceholders(v, frozen));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolvePlaceholders(v, frozen)]));
  return value;
}

function containerOf(frozen: FrozenInput, component: string, replica: number): ContainerSpec {
  const found = frozen.containers.find((c) => c.component === component && c.replicaIndex === replica);
  if (!found) throw new Error(`scenario refers to ${component}/${replica}, not in the frozen input`);
  return found;
}

function liveContainer(fixture: LiveContainerFixture, frozen: FrozenInput): LiveContainer {
  if (fixture.like) {
    const [component, replica] = fixture.like.split('/');
    const spec = structuredClone(containerOf(frozen, component, Number(replica)));
    const name = fixture.name ?? spec.name;
    const live: LiveContainer = { ...spec, name, id: sha256Hex(name), imageId: 'sha256:' + sha256Hex(spec.image), createdAt: '2026-11-26T09:00:00Z', state: stateOf(fixture.state) };
    for (const [path, value] of Object.entries(fixture.set ?? {})) setAt(live, path, resolvePlaceholders(value, frozen));
    for (const path of fixture.unset ?? []) unsetAt(live, path);
    return live;
  }
  const inspect = readJson<DockerContainerInspect>(join(inspectDir, `container-${fixture.inspect}.json`));
  for (const [path, value] of Object.entries(fixture.set ?? {})) setAt(inspect, path, resolvePlaceholders(value, frozen));
  for (const path of fixture.unset ?? []) unsetAt(inspect, path);
  const expected = frozen.containers.find((c) => c.name === (inspect.Name ?? '').replace(/^\//, ''));
  return normaliseInspect(inspect, fixture.image ? IMAGES[fixture.image] : undefined, { daemon, expected, hashSecret: sha256Hex });
}

function render(scenario: Scenario): FrozenInput {
  return renderFrozenInput(service({ ...scenario.service.spec }, scenario.service.name), {
    resolveSecret: (name, key) => (SECRET_VALUES[`${name}/${key}`] === undefined ? undefined : { hash: sha256Hex(SECRET_VALUES[`${name}/${key}`]) }),
    imageDigests: scenario.digests,
  });
}

function liveState(scenario: Scenario, frozen: FrozenInput): LiveState {
  const owner = ownershipLabels({ project: frozen.project, environment: frozen.environment, service: frozen.service.name });
  const labels = (l: Record<string, string> | 'owner') => (l === 'owner' ? owner : l);
  return {
    containers: scenario.live.containers.map((c) => liveContainer(c, frozen)),
    networks: (scenario.live.networks ?? []).map((n) => ({ ...n, labels: labels(n.labels) })),
    volumes: (scenario.live.volumes ?? []).map((v) => ({ ...v, labels: labels(v.labels) })),
    images: (scenario.live.images ?? []).map((i, n) => ({ id: i.id ?? `sha256:${n}`, repoTags: i.repoTags ?? [], repoDigests: i.repoDigests ?? [] })),
  };
}

const summary = (actions: Action[]) => actions.map((a) => `${a.type} ${a.target}`);

describe('planRollout scenarios', () => {
  const files = readdirSync(scenarioDir).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length >= 11);
  for (const file of files) {
    const scenario = load(readFileSync(join(scenarioDir, file), 'utf8'), { schema: CORE_SCHEMA.withTags(mergeTag) }) as Scenario;
    describe(`${file}: ${scenario.description}`, () => {
      const frozen = render(scenario);
      const live = liveState(scenario, frozen);
      const actions = planRollout(frozen, live, scenario.options);
      it('plans the expected actions in order', () => assert.deepEqual(summary(actions), scenario.expect, JSON.stringify(actions.map((a) => a.reason), null, 1)));
      for (const [index, pattern] of scenario.reasons ?? []) {
        it(`action ${index} says why: /${pattern}/`, () => assert.match(actions[index]?.reason ?? '', new RegExp(pattern)));
      }
      if (scenario.failure) {
        const [index, failure] = scenario.failure;
        it(`action ${index} fails the deployment as ${failure}`, () => assert.equal((actions[index] as { failure?: string } | undefined)?.failure, failure));
      }
      it('is deterministic', () => assert.deepEqual(planRollout(frozen, liveState(scenario, frozen), scenario.options), actions));
      it("never acts on a container that is not the Service's", () => {
        const ours = new Set(live.containers.filter((c) => c.service === frozen.service.name && c.project === frozen.project).map((c) => c.id));
        for (const action of actions) {
          if ('containerId' in action && action.containerId) assert.ok(ours.has(action.containerId), `${action.type} ${action.target}`);
        }
      });
      it('carries no secret value', () => assert.ok(!JSON.stringify(actions).includes('s3cret-value')));
    });
  }
});

describe('planRollout details', () => {
  const scenario = load(readFileSync(join(scenarioDir, '17-drift-heal.yaml'), 'utf8')) as Scenario;
  const frozen = render(scenario);
  it('leaves drift alone when fieldDrift is ignore', () => {
    assert.deepEqual(planRollout(frozen, liveState(scenario, frozen), { fieldDrift: 'ignore' }), []);
  });
  it('creates containers with the frozen spec under the name it acts on, and waits with the deadline', () => {
    const fresh = load(readFileSync(join(scenarioDir, '01-fresh-deploy.yaml'), 'utf8')) as Scenario;
    const f = render(fresh);
    const actions = planRollout(f, liveState(fresh, f));
    const create = actions.find((a) => a.type === 'create');
    assert.ok(create && create.type === 'create');
    assert.deepEqual(create.container, f.containers[0]);
    const wait = actions.find((a) => a.type === 'wait-healthy');
    assert.ok(wait && wait.type === 'wait-healthy');
    assert.equal(wait.deadlineSeconds, 60);
    assert.equal(wait.check, 'readiness');
    assert.deepEqual(wait.readiness, { http: { path: '/', port: 8080 }, intervalSeconds: 2, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 0 });
    const next = planRollout(f, liveState(scenario, frozen));
    assert.ok(next.length > 0);
  });
  it('goes stop-first when update.order says so, even without host ports', () => {
    const s = load(readFileSync(join(scenarioDir, '06-env-change-start-first.yaml'), 'utf8')) as Scenario;
    s.service.spec.update = { order: 'stop-first', healthDeadlineSeconds: 30, autoRollback: true };
    const f = render(s);
    const actions = planRollout(f, liveState(s, f));
    assert.deepEqual(summary(actions), ['stop hf_shop_production_api_1', 'remove hf_shop_production_api_1', 'create hf_shop_production_api_1', 'start hf_shop_production_api_1', 'wait-healthy hf_shop_production_api_1']);
    assert.match(actions[0].reason, /update\.order is stop-first/);
  });
});

describe('planDeletion', () => {
  const scenario = load(readFileSync(join(scenarioDir, '19-removed-component.yaml'), 'utf8')) as Scenario;
  const frozen = render(scenario);
  const live = liveState(scenario, frozen);
  live.containers.push({ ...live.containers[0], name: 'somebody-else', id: 'f'.repeat(64), labels: {}, project: '', service: '' });
  live.volumes.push({ name: 'hf_shop_production_shop_data', labels: ownershipLabels({ project: 'shop', environment: 'production', service: 'shop' }) }, { name: 'unrelated', labels: {} });
  const owner = { project: 'shop', environment: 'production', service: 'shop' };
  it('removes every container and network with the Service labels, and nothing else; keeps volumes under Retain', () => {
    assert.deepEqual(summary(planDeletion(live, { owner, deleteVolumes: false })), [
      'stop hf_shop_production_shop_web_1',
      'remove hf_shop_production_shop_web_1',
      'stop hf_shop_production_shop_worker_1',
      'remove hf_shop_production_shop_worker_1',
      'remove-network hf_shop_production_shop_default',
      'remove-network hf_shop_production_shop_jobs',
    ]);
  });
  it('removes the Service volumes under Delete', () => {
    const actions = planDeletion(live, { owner, deleteVolumes: true });
    assert.deepEqual(summary(actions).slice(-1), ['remove-volume hf_shop_production_shop_data']);
    assert.ok(!summary(actions).some((a) => a.includes('unrelated') || a.includes('somebody-else')));
  });
  it('does nothing for a Service with nothing on the host', () => {
    assert.deepEqual(planDeletion(live, { owner: { ...owner, service: 'gone' }, deleteVolumes: true }), []);
  });
});

describe('buildLiveState from raw inspect output', () => {
  const adopt = load(readFileSync(join(scenarioDir, '03-adopt.yaml'), 'utf8')) as Scenario;
  const frozen = render(adopt);
  const full = readJson<DockerContainerInspect>(join(inspectDir, 'container-full.json'));
  full.Name = '/hf_shop_production_web_web_1';
  const minimal = readJson<DockerContainerInspect>(join(inspectDir, 'container-minimal.json'));
  const snapshot = {
    containers: [full, minimal],
    images: [IMAGES.busybox],
    networks: [readJson<import('../../../core/deploy/docker-types.js').DockerNetworkInspect>(join(inspectDir, 'network.json'))],
    volumes: [readJson<import('../../../core/deploy/docker-types.js').DockerVolumeInspect>(join(inspectDir, 'volume.json'))],
  };
  const live = buildLiveState(snapshot, frozen, { hashSecret: sha256Hex, daemon });
  it('normalises each container against its frozen spec, secrets as hashes', () => {
    assert.deepEqual(live.containers[0].env.DB_PASSWORD, { secretRef: { name: 'db', key: 'password' }, secretHash: sha256Hex('s3cret-value') });
    assert.ok(!JSON.stringify(live.containers[0]).includes('s3cret-value'));
    assert.equal(live.containers[1].name, 'fixture-normalise-minimal');
  });
  it('reads networks, volumes and images', () => {
    assert.deepEqual(live.networks.map((n) => [n.name, n.driver]), [['fixture-normalise-net', 'bridge']]);
    assert.deepEqual(live.volumes.map((v) => v.name), ['fixture-normalise-data']);
    assert.deepEqual(live.images[0].repoTags, ['holdfast-test/busybox:1']);
  });
  it('adopts the container: its spec-hash label is from elsewhere, its fields match the frozen spec', () => {
    const actions = planRollout(frozen, live);
    assert.deepEqual(summary(actions), ['adopt hf_shop_production_web_web_1']);
    assert.match(actions[0].reason, /spec-hash label is from another version/);
    assert.deepEqual(planRollout(frozen, live, { adoptedContainerIds: new Set([live.containers[0].id]) }), []);
  });
});
