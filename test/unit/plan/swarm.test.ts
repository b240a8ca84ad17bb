// The Swarm path of a Service on a manager: the ServiceSpec rendered from the frozen input, its
// spec hash, and the planning decisions (create, update, wait, nothing, refuse, clean up).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LABELS, ownershipLabels, sha256Hex, type FrozenInput } from '../../../core/deploy/container-spec.js';
import type { LiveContainer } from '../../../core/deploy/normalise-live.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { swarmServicePlans, swarmServiceSpec } from '../../../core/deploy/swarm-spec.js';
import { describeTaskFailure, liveSwarmService, liveSwarmTask, planSwarmDeletion, planSwarmRollout, taskProgress, type LiveSwarmService, type LiveSwarmTask, type SwarmLiveState } from '../../../core/plan/swarm.js';
import { diffSwarmAgainstFrozen, type RawSwarmServiceSpec } from '../../../core/drift/swarm.js';
import type { ServiceSpec } from '../../../core/schema/types.generated.js';
import { service } from '../deploy/fixtures.js';

const IMAGE = 'holdfast-test/busybox:1';
const images = [{ id: 'sha256:b', repoTags: [IMAGE], repoDigests: [] }];
const secretHash = (name: string, key: string) => ({ hash: sha256Hex(`${name}/${key}`) });

function frozen(spec: Partial<ServiceSpec> = {}, ctx: { swarm?: boolean } = {}): FrozenInput {
  return renderFrozenInput(
    service({
      source: { image: IMAGE },
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      env: [
        { name: 'GREETING', value: 'hello' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      ],
      replicas: 2,
      ...spec,
    }, 'web'),
    { resolveSecret: secretHash, ...ctx },
  );
}

const owner = { project: 'shop', environment: 'production', service: 'web' };

function liveService(f: FrozenInput, over: Partial<LiveSwarmService> = {}, publishMode: 'ingress' | 'host' = 'ingress'): LiveSwarmService {
  const plan = swarmServicePlans(f, { publishMode })[0]!;
  return { id: 'svc1', name: plan.name, version: 7, labels: { ...ownershipLabels(owner), [LABELS.specHash]: plan.specHash }, replicas: plan.replicas, updateState: 'completed', ...over };
}

function tasks(hash: string, states: string[], serviceId = 'svc1'): LiveSwarmTask[] {
  return states.map((state, i) => ({ id: `t${i}`, serviceId, slot: i + 1, desiredState: 'running', state, taskHash: hash }));
}

const kinds = (actions: Array<{ type: string; target: string }>) => actions.map((a) => `${a.type} ${a.target}`);

describe('Swarm ServiceSpec rendering', () => {
  it('renders image, args, env with resolved secrets, labels, replicas, restart policy and update order', () => {
    const f = frozen({ ports: [{ containerPort: 8080, hostPort: 18090, protocol: 'tcp' }], replicas: 1, update: { order: 'start-first', healthDeadlineSeconds: 30, autoRollback: true }, resources: { cpus: 0.5, memory: '64Mi' } });
    const [plan] = swarmServicePlans(f, { publishMode: 'ingress' });
    const spec = swarmServiceSpec(plan!, (ref) => (ref.name === 'db' && ref.key === 'password' ? 's3cret' : assert.fail(`unexpected ${ref.name}`)));
    assert.equal(spec.Name, 'hf_shop_production_web');
    const c = spec.TaskTemplate.ContainerSpec;
    assert.equal(c.Image, IMAGE);
    assert.deepEqual(c.Args, ['httpd', '-f', '-p', '8080', '-h', '/www']);
    assert.equal(c.Command, undefined);
    assert.deepEqual([...c.Env].sort(), ['DB_PASSWORD=s3cret', 'GREETING=hello']);
    assert.equal(('Replicated' in spec.Mode && spec.Mode.Replicated.Replicas), 1);
    assert.deepEqual(spec.TaskTemplate.RestartPolicy, { Condition: 'any' });
    assert.deepEqual(spec.UpdateConfig, { Parallelism: 1, Order: 'start-first', FailureAction: 'pause' });
    assert.deepEqual(spec.EndpointSpec.Ports, [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 18090, PublishMode: 'ingress' }]);
    assert.deepEqual(spec.TaskTemplate.Resources, { Limits: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 1024 * 1024 } });
    for (const labels of [spec.Labels, c.Labels]) {
      assert.equal(labels[LABELS.managedBy], 'holdfast');
      assert.equal(labels[LABELS.project], 'shop');
      assert.equal(labels[LABELS.service], 'web');
      assert.equal(labels[LABELS.replica], undefined, 'Swarm numbers the slots itself');
    }
    assert.equal(spec.Labels[LABELS.specHash], plan!.specHash);
    assert.equal(c.Labels[LABELS.specHash], plan!.taskHash);
    assert.notEqual(plan!.taskHash, plan!.specHash);
  });

  it('keeps secret values out of the spec hash and changes it with the secret hash, env, replicas and publish mode', () => {
    const base = swarmServicePlans(frozen(), { publishMode: 'ingress' })[0]!;
    assert.equal(swarmServicePlans(frozen(), { publishMode: 'ingress' })[0]!.specHash, base.specHash, 'deterministic');
    const cases: Array<[string, string]> = [
      ['env', swarmServicePlans(frozen({ env: [{ name: 'GREETING', value: 'bonjour' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }), { publishMode: 'ingress' })[0]!.specHash],
      ['replicas', swarmServicePlans(frozen({ replicas: 3 }), { publishMode: 'ingress' })[0]!.specHash],
      ['publish mode', swarmServicePlans(frozen(), { publishMode: 'host' })[0]!.specHash],
      ['secret hash', swarmServicePlans(renderFrozenInput(service({ source: { image: IMAGE }, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], env: [{ name: 'GREETING', value: 'hello' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], replicas: 2 }, 'web'), { resolveSecret: () => ({ hash: 'other' }) }), { publishMode: 'ingress' })[0]!.specHash],
    ];
    for (const [what, hash] of cases) assert.notEqual(hash, base.specHash, `${what} changes the hash`);
    const scaled = swarmServicePlans(frozen({ replicas: 3 }), { publishMode: 'ingress' })[0]!;
    assert.equal(scaled.taskHash, base.taskHash, 'a scale alone replaces no task');
    assert.notEqual(swarmServicePlans(frozen({ env: [{ name: 'GREETING', value: 'bonjour' }] }), { publishMode: 'ingress' })[0]!.taskHash, base.taskHash);
    const spec = swarmServiceSpec(base, () => 'value-never-hashed');
    assert.ok(!JSON.stringify(base).includes('value-never-hashed'));
    assert.ok(JSON.stringify(spec).includes('value-never-hashed'));
  });

  it('publishes in mode host without IPVS and then updates stop-first', () => {
    const f = frozen({ ports: [{ containerPort: 8080, hostPort: 18090, protocol: 'tcp' }], replicas: 1 });
    const [plan] = swarmServicePlans(f, { publishMode: 'host' });
    const spec = swarmServiceSpec(plan!, () => 'x');
    assert.equal(spec.EndpointSpec.Ports[0]!.PublishMode, 'host');
    assert.equal(spec.UpdateConfig.Order, 'stop-first');
    assert.match(plan!.adjustedNote ?? '', /mode host/);
  });

  it('maps healthcheck, mounts, entrypoint and restart policies', () => {
    const f = frozen({
      entrypoint: ['/bin/sh', '-c'],
      healthcheck: { exec: { command: ['true'] }, intervalSeconds: 2, timeoutSeconds: 1, failureThreshold: 4, startPeriodSeconds: 0 },
      volumes: [{ name: 'data', mountPath: '/data', readOnly: false }, { name: 'logs', hostPath: '/var/log/x', mountPath: '/logs', readOnly: true }],
      restartPolicy: 'no',
    });
    const [plan] = swarmServicePlans(f, { publishMode: 'ingress' });
    assert.equal(plan!.healthcheck, true);
    const c = swarmServiceSpec(plan!, () => 'x').TaskTemplate.ContainerSpec;
    assert.deepEqual(c.Command, ['/bin/sh', '-c']);
    assert.deepEqual(c.HealthCheck, { Test: ['CMD', 'true'], Interval: 2e9, Timeout: 1e9, StartPeriod: 0, Retries: 4 });
    assert.deepEqual(c.Mounts, [
      { Type: 'volume', Source: 'hf_shop_production_web_data', Target: '/data' },
      { Type: 'bind', Source: '/var/log/x', Target: '/logs', ReadOnly: true, BindOptions: { CreateMountpoint: true } },
    ]);
    assert.deepEqual(swarmServiceSpec(plan!, () => 'x').TaskTemplate.RestartPolicy, { Condition: 'none' });
  });
});

describe('Swarm: replicas 0 and host ports on several replicas', () => {
  const published = { ports: [{ containerPort: 8080, hostPort: 18090, protocol: 'tcp' as const }], replicas: 3 };
  it('refuses a host port on several replicas for a Docker host, naming the Swarm way', () => {
    assert.throws(() => frozen(published), /spec\.ports\[0\]\.hostPort: host port 18090 cannot be published by 3 replicas \(on a Swarm manager it can, one task per node\)/);
  });

  const placement: Array<{ name: string; spec: Partial<ServiceSpec>; mode: 'host' | 'ingress'; maxReplicas?: number; note?: RegExp }> = [
    { name: 'several replicas publishing in mode host: one per node', spec: published, mode: 'host', maxReplicas: 1, note: /3 replicas publish host ports in mode host: placement max_replicas_per_node 1 added/ },
    { name: 'several replicas through the routing mesh: no placement', spec: published, mode: 'ingress' },
    { name: 'one replica in mode host: no placement', spec: { ...published, replicas: 1 }, mode: 'host' },
    { name: 'several replicas without a host port: no placement', spec: { replicas: 3 }, mode: 'host' },
  ];
  for (const c of placement) {
    it(c.name, () => {
      const [plan] = swarmServicePlans(frozen(c.spec, { swarm: true }), { publishMode: c.mode });
      const spec = swarmServiceSpec(plan!, () => 'x');
      assert.equal(plan!.maxReplicasPerNode, c.maxReplicas);
      assert.equal(spec.TaskTemplate.Placement?.MaxReplicas, c.maxReplicas);
      if (c.note) assert.match(plan!.adjustedNote ?? '', c.note);
    });
  }

  it('keeps the task template at replicas 0, so scaling back replaces no task', () => {
    const zero = frozen({ replicas: 0 }, { swarm: true });
    assert.deepEqual(zero.containers, []);
    const [plan] = swarmServicePlans(zero, { publishMode: 'ingress' });
    const spec = swarmServiceSpec(plan!, () => 's3cret');
    assert.equal(('Replicated' in spec.Mode && spec.Mode.Replicated.Replicas), 0);
    assert.ok(spec.TaskTemplate.ContainerSpec.Env.includes('DB_PASSWORD=s3cret'), 'the template\'s secrets are resolved too');
    assert.deepEqual(zero.secretRefs.map((r) => `${r.name}/${r.key}`), ['db/password']);
    const two = swarmServicePlans(frozen({}, { swarm: true }), { publishMode: 'ingress' })[0]!;
    assert.equal(plan!.taskHash, two.taskHash);
    assert.notEqual(plan!.specHash, two.specHash);
    assert.equal(frozen({ replicas: 0 }).components[0]!.taskTemplate, undefined, 'only for a Swarm manager');
  });
});

describe('Swarm rollout planning', () => {
  const empty: SwarmLiveState = { services: [], tasks: [], containers: [], networks: [], files: [], images };
  const opts = { publishMode: 'ingress' as const };

  const table: Array<{ name: string; frozen: FrozenInput; live: SwarmLiveState; expect: string[]; reason?: RegExp }> = [
    { name: 'creates a missing service and waits for it', frozen: frozen(), live: empty, expect: ['create-service hf_shop_production_web', 'wait-service hf_shop_production_web'] },
    {
      name: 'updates a service whose spec hash differs',
      frozen: frozen({ env: [{ name: 'GREETING', value: 'bonjour' }] }),
      live: { ...empty, services: [liveService(frozen())] },
      expect: ['update-service hf_shop_production_web', 'wait-service hf_shop_production_web'],
      reason: /spec changed: rolling update start-first/,
    },
    {
      name: 'does nothing when the service runs the frozen spec with all its tasks',
      frozen: frozen(),
      live: { ...empty, services: [liveService(frozen())], tasks: tasks(swarmServicePlans(frozen(), opts)[0]!.taskHash, ['running', 'running']) },
      expect: [],
    },
    {
      name: 'waits when tasks of the frozen spec are missing',
      frozen: frozen(),
      live: { ...empty, services: [liveService(frozen())], tasks: tasks(swarmServicePlans(frozen(), opts)[0]!.taskHash, ['running', 'starting']) },
      expect: ['wait-service hf_shop_production_web'],
      reason: /1\/2 running on 1 node; slot 2 starting/,
    },
    {
      name: 'makes a service again whose mode changes, which Swarm cannot update in place',
      frozen: frozen(),
      live: { ...empty, services: [liveService(frozen(), { global: true })] },
      expect: ['remove-service hf_shop_production_web', 'create-service hf_shop_production_web', 'wait-service hf_shop_production_web'],
      reason: /mode changes from global to replicated, which Swarm cannot do in place/,
    },
    {
      name: 'takes a paused update up again',
      frozen: frozen(),
      live: { ...empty, services: [liveService(frozen(), { updateState: 'paused', updateMessage: 'update paused due to failure' })] },
      expect: ['update-service hf_shop_production_web', 'wait-service hf_shop_production_web'],
      reason: /paused/,
    },
    {
      name: 'refuses a name taken by a service that is not the Service\'s',
      frozen: frozen(),
      live: { ...empty, services: [{ id: 'other123456789', name: 'hf_shop_production_web', version: 1, labels: {} }] },
      expect: ['fail hf_shop_production_web'],
      reason: /does not manage/,
    },
    {
      name: 'pulls an image the manager does not have before creating',
      frozen: frozen(),
      live: { ...empty, images: [] },
      expect: [`pull ${IMAGE}`, 'create-service hf_shop_production_web', 'wait-service hf_shop_production_web'],
    },
    {
      name: 'refuses a hostIP, which Swarm cannot publish on',
      frozen: frozen({ replicas: 1, ports: [{ containerPort: 8080, hostPort: 18090, hostIP: '127.0.0.1', protocol: 'tcp' }] }),
      live: empty,
      expect: ['fail hf_shop_production_web'],
      reason: /hostIP 127\.0\.0\.1 \(port 18090\) cannot be honoured/,
    },
    {
      name: 'waits for each task to pass its http readiness probe',
      frozen: frozen({ healthcheck: { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 3, startPeriodSeconds: 0 } }),
      live: empty,
      expect: ['create-service hf_shop_production_web', 'wait-service hf_shop_production_web'],
      reason: /2 task\(s\) of the new spec run, each passing its http\/tcp readiness probe from the node that runs it/,
    },
    {
      name: 'scales a running service to zero from the task template',
      frozen: frozen({ replicas: 0 }, { swarm: true }),
      live: { ...empty, services: [liveService(frozen())], tasks: tasks(swarmServicePlans(frozen(), opts)[0]!.taskHash, ['running', 'running']) },
      expect: ['update-service hf_shop_production_web', 'wait-service hf_shop_production_web'],
      reason: /wait until 0 task\(s\) of the new spec run/,
    },
    {
      name: 'refuses replicas 0 frozen for another kind of server, saying what to do',
      frozen: frozen({ replicas: 0 }),
      live: empty,
      expect: ['fail web'],
      reason: /holds no container for component web: deploy it again/,
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const actions = planSwarmRollout(t.frozen, t.live, opts);
      assert.deepEqual(kinds(actions), t.expect);
      if (t.reason) assert.match(actions.map((a) => a.reason).join('\n'), t.reason);
    });
  }

  it('removes containers the Service ran on the manager before, never Swarm task containers', () => {
    const f = frozen();
    const container = (name: string, labels: Record<string, string>) => ({ id: `${name}-id`, name, labels, state: { running: true, status: 'running' } }) as unknown as LiveContainer;
    const live: SwarmLiveState = {
      ...empty,
      services: [liveService(f)],
      tasks: tasks(swarmServicePlans(f, opts)[0]!.taskHash, ['running', 'running']),
      containers: [
        container('hf_shop_production_web_1', ownershipLabels({ ...owner, component: 'web', replicaIndex: 1 })),
        container('hf_shop_production_web.1.abc', { ...ownershipLabels({ ...owner, component: 'web' }), 'com.docker.swarm.task.id': 'abc' }),
        container('other', {}),
      ],
    };
    assert.deepEqual(kinds(planSwarmRollout(f, live, opts)), ['stop hf_shop_production_web_1', 'remove hf_shop_production_web_1']);
  });

  it('reads services and tasks from the Engine API shapes and tells task progress', () => {
    const svc = liveSwarmService({ ID: 's', Version: { Index: 12 }, Spec: { Name: 'n', Labels: { a: 'b' }, Mode: { Replicated: { Replicas: 2 } } }, UpdateStatus: { State: 'updating' } });
    assert.deepEqual(svc, { id: 's', name: 'n', version: 12, labels: { a: 'b' }, replicas: 2, updateState: 'updating' });
    const failed = liveSwarmTask({ ID: 't', ServiceID: 's', Slot: 1, DesiredState: 'shutdown', Status: { State: 'failed', Err: 'task: non-zero exit (1)' }, Spec: { ContainerSpec: { Labels: { [LABELS.specHash]: 'h2' } } } });
    const old = liveSwarmTask({ ID: 'o', ServiceID: 's', Slot: 1, DesiredState: 'running', Status: { State: 'running' }, Spec: { ContainerSpec: { Labels: { [LABELS.specHash]: 'h1' } } } });
    const progress = taskProgress([failed, old], 's', 'h2', 2);
    assert.equal(progress.running, 0);
    assert.equal(progress.failed.length, 1);
    assert.equal(progress.old, 1);
    assert.match(progress.summary, /0\/2 running; 1 task\(s\) of the previous version/);
  });

  it('counts the nodes the running tasks are on, names the others\' nodes, and reports a failed task with its node and exit code', () => {
    const names = new Map([['n1', 'hf-h1'], ['n2', 'hf-h2']]);
    const t = (id: string, slot: number, nodeId: string, state: string, extra: Partial<LiveSwarmTask> = {}): LiveSwarmTask => ({ id, serviceId: 's', slot, nodeId, desiredState: 'running', state, taskHash: 'h', ...extra });
    const progress = taskProgress([t('a', 1, 'n1', 'running'), t('b', 2, 'n1', 'running'), t('c', 3, 'n2', 'running'), t('d', 4, 'n2', 'starting'), t('e', 5, 'n3abcdefghijklmn', 'preparing')], 's', 'h', 5, names);
    assert.equal(progress.summary, '3/5 running on 2 nodes; slot 4 starting on hf-h2; slot 5 preparing on n3abcdefghij');
    const failed = liveSwarmTask({ ID: 'f', ServiceID: 's', NodeID: 'n2', Slot: 2, DesiredState: 'shutdown', Status: { State: 'failed', Err: 'task: non-zero exit (3)', ContainerStatus: { ExitCode: 3 } } });
    assert.equal(describeTaskFailure(failed, names), 'slot 2 on hf-h2 failed, exit code 3: task: non-zero exit (3)');
    const rejected = liveSwarmTask({ ID: 'r', ServiceID: 's', Slot: 1, DesiredState: 'shutdown', Status: { State: 'rejected', Message: 'preparing' } });
    assert.equal(describeTaskFailure(rejected), 'slot 1 rejected: preparing');
  });

  it('deletes only the Service\'s own Swarm services', () => {
    const actions = planSwarmDeletion([
      { id: 'a', name: 'hf_shop_production_web', version: 1, labels: ownershipLabels(owner) },
      { id: 'b', name: 'hf_shop_production_api', version: 1, labels: ownershipLabels({ ...owner, service: 'api' }) },
      { id: 'c', name: 'foreign', version: 1, labels: {} },
    ], owner);
    assert.deepEqual(actions.map((a) => a.type === 'remove-service' && a.serviceId), ['a']);
  });
});

describe('Swarm live drift and its healing', () => {
  const hashSecret = (value: string) => sha256Hex(`keyed:${value}`);
  const f1 = renderFrozenInput(
    service({ source: { image: IMAGE }, env: [{ name: 'GREETING', value: 'hello' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], replicas: 1, ports: [{ containerPort: 8080, hostPort: 18090, protocol: 'tcp' }] }, 'web'),
    { resolveSecret: () => ({ hash: hashSecret('s3cret') }) },
  );
  const liveOf = (frozenInput: FrozenInput, secret = 's3cret') => ({ Spec: swarmServiceSpec(swarmServicePlans(frozenInput, { publishMode: 'host' })[0]!, () => secret) as unknown as RawSwarmServiceSpec });
  const opts = { publishMode: 'host' as const, hashSecret };

  it('finds nothing when the service is as rendered', () => {
    assert.deepEqual(diffSwarmAgainstFrozen(f1, [liveOf(f1)], opts), []);
  });

  const table: Array<{ name: string; change: (spec: any) => void; expect: string[] }> = [
    { name: 'an env value', change: (s) => s.TaskTemplate.ContainerSpec.Env = ['GREETING=hacked', 'DB_PASSWORD=s3cret'], expect: ['services[hf_shop_production_web].env.GREETING changed'] },
    { name: 'a secret value (compared by hash)', change: (s) => s.TaskTemplate.ContainerSpec.Env = ['GREETING=hello', 'DB_PASSWORD=other'], expect: ['services[hf_shop_production_web].env.DB_PASSWORD changed'] },
    { name: 'an added variable', change: (s) => s.TaskTemplate.ContainerSpec.Env.push('EXTRA=1'), expect: ['services[hf_shop_production_web].env.EXTRA unexpected'] },
    { name: 'the image', change: (s) => s.TaskTemplate.ContainerSpec.Image = 'holdfast-test/busybox:2', expect: ['services[hf_shop_production_web].image changed'] },
    { name: 'replicas', change: (s) => s.Mode.Replicated.Replicas = 3, expect: ['services[hf_shop_production_web].replicas changed'] },
    { name: 'a port', change: (s) => s.EndpointSpec.Ports[0].PublishedPort = 18091, expect: ['services[hf_shop_production_web].ports changed'] },
    { name: 'a label', change: (s) => s.Labels['team'] = 'x', expect: ['services[hf_shop_production_web].labels.team unexpected'] },
    { name: 'the whole service', change: (s) => s.Name = 'renamed', expect: ['services[hf_shop_production_web] missing'] },
  ];
  for (const t of table) {
    it(`reports ${t.name}`, () => {
      const live = liveOf(f1);
      t.change(live.Spec);
      const entries = diffSwarmAgainstFrozen(f1, [live], opts);
      assert.deepEqual(entries.map((e) => `${e.path} ${e.kind}`), t.expect);
      assert.ok(entries.every((e) => e.source === 'live-vs-frozen'));
      assert.ok(!JSON.stringify(entries).includes('s3cret') && !JSON.stringify(entries).includes('"other"'), 'secret values never appear');
    });
  }

  it('honours ignoreDifferences', () => {
    const live = liveOf(f1);
    (live.Spec as any).TaskTemplate.ContainerSpec.Env = ['GREETING=hacked', 'DB_PASSWORD=s3cret'];
    assert.deepEqual(diffSwarmAgainstFrozen(f1, [live], { ...opts, ignorePaths: ['env.GREETING'] }), []);
  });

  it('updates a service changed on the manager back to the frozen spec', () => {
    const plan = swarmServicePlans(f1, { publishMode: 'host' })[0]!;
    const live: SwarmLiveState = {
      services: [{ id: 'svc1', name: plan.name, version: 3, labels: { ...ownershipLabels(owner), [LABELS.specHash]: plan.specHash } }],
      tasks: tasks(plan.taskHash, ['running']),
      containers: [],
      networks: [],
      files: [],
      images,
    };
    assert.deepEqual(kinds(planSwarmRollout(f1, live, { publishMode: 'host' })), []);
    const actions = planSwarmRollout(f1, live, { publishMode: 'host', fieldDrift: { [plan.name]: ['env.GREETING'] } });
    assert.deepEqual(kinds(actions), ['update-service hf_shop_production_web', 'wait-service hf_shop_production_web']);
    assert.match(actions[0]!.reason, /changed on the manager \(env\.GREETING\)/);
  });
});
