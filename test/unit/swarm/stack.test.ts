// A compose Service on a Swarm manager is a stack: the ServiceSpecs of its compose services (names,
// stack labels, networks with the compose names as aliases, deploy's Swarm keys), the overlay
// networks, what Swarm cannot run refused with its path, and the plan that creates, updates and
// cleans up the stack's services and networks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LABELS, ownershipLabels, STACK_NAMESPACE_LABEL, type FrozenInput } from '../../../core/deploy/container-spec.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { desiredTasks, swarmServicePlans, swarmServiceSpec, type SwarmServicePlan, type SwarmServiceSpec } from '../../../core/deploy/swarm-spec.js';
import { diffSwarmAgainstFrozen, type RawSwarmServiceSpec } from '../../../core/drift/swarm.js';
import { ValidationError } from '../../../core/errors.js';
import { planSwarmRollout, type SwarmLiveState } from '../../../core/plan/swarm.js';
import type { PlacementNode } from '../../../core/swarm/placement.js';
import type { ServiceSpec } from '../../../core/schema/types.generated.js';
import { context, service } from '../deploy/fixtures.js';

const IMAGE = 'holdfast-test/busybox:1';
const STACK = 'hf_shop_production_store';
const owner = { project: 'shop', environment: 'production', service: 'store' };

const twoServices = {
  services: {
    api: {
      image: IMAGE,
      command: ['httpd', '-f', '-p', '8080'],
      environment: { DB_HOST: 'db' },
      networks: ['back'],
      deploy: {
        replicas: 3,
        placement: { constraints: ['node.role==worker'], preferences: [{ spread: 'node.labels.zone' }], max_replicas_per_node: 2 },
        update_config: { parallelism: 2, order: 'stop-first', delay: '5s' },
        resources: { limits: { cpus: '0.5', memory: '64m' } },
        restart_policy: { condition: 'on-failure', max_attempts: 3 },
      },
    },
    db: { image: IMAGE, command: ['nc', '-lk', '-p', '5432'], networks: { back: { aliases: ['database'] } }, deploy: { mode: 'global' } },
  },
  networks: { back: { attachable: true } },
};

function stack(inline: Record<string, unknown>, extra: { swarm?: boolean; replicas?: number; env?: ServiceSpec['env'] } = {}): FrozenInput {
  const spec = { ...(extra.replicas !== undefined ? { replicas: extra.replicas } : {}), ...(extra.env ? { env: extra.env } : {}) };
  return renderFrozenInput(service({ source: { compose: { inline } }, ...spec }), context({ swarm: extra.swarm ?? true }));
}

const specOf = (f: FrozenInput, component: string, publishMode: 'ingress' | 'host' = 'ingress'): SwarmServiceSpec =>
  swarmServiceSpec(swarmServicePlans(f, { publishMode }).find((p) => p.component === component)!, () => 'unused');

const refusal = (inline: Record<string, unknown>, path: RegExp, message: RegExp) =>
  assert.throws(() => stack(inline), (err: unknown) => err instanceof ValidationError && err.causes.some((c) => path.test(c.field) && message.test(c.message)), `refused at ${path}`);

describe('a compose Service on a Swarm manager is a stack', () => {
  const f = stack(twoServices);

  it('makes one Swarm service per compose service, named and labelled as docker stack deploy does', () => {
    const plans = swarmServicePlans(f, { publishMode: 'ingress' });
    assert.deepEqual(plans.map((p) => p.name), [`${STACK}_api`, `${STACK}_db`]);
    for (const component of ['api', 'db']) {
      const spec = specOf(f, component);
      assert.equal(spec.Labels[STACK_NAMESPACE_LABEL], STACK, `${component}: the service is in the stack`);
      assert.equal(spec.TaskTemplate.ContainerSpec.Labels[STACK_NAMESPACE_LABEL], STACK, `${component}: so are its tasks' containers`);
      assert.equal(spec.Labels[LABELS.component], component);
      assert.equal(spec.Labels[LABELS.managedBy], 'holdfast');
    }
  });

  it('attaches each service to the overlay network under its compose name (and aliases)', () => {
    assert.deepEqual(specOf(f, 'api').TaskTemplate.Networks, [{ Target: `${STACK}_back`, Aliases: ['api'] }]);
    assert.deepEqual(specOf(f, 'db').TaskTemplate.Networks, [{ Target: `${STACK}_back`, Aliases: ['database', 'db'] }]);
    assert.deepEqual(f.networks.map((n) => [n.name, n.driver, n.attachable, n.labels[STACK_NAMESPACE_LABEL], n.labels[LABELS.service]]), [[`${STACK}_back`, 'overlay', true, STACK, 'store']]);
    const implicit = stack({ services: { web: { image: IMAGE } } });
    assert.deepEqual(implicit.networks.map((n) => [n.name, n.driver, n.attachable]), [[`${STACK}_default`, 'overlay', undefined]]);
  });

  it('honours deploy: replicas, placement, update_config, resources, restart_policy, mode global', () => {
    const api = specOf(f, 'api');
    assert.deepEqual(api.Mode, { Replicated: { Replicas: 3 } });
    assert.deepEqual(api.TaskTemplate.Placement, { Constraints: ['node.role==worker'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 });
    assert.deepEqual(api.UpdateConfig, { Parallelism: 2, Order: 'stop-first', FailureAction: 'pause', Delay: 5e9 });
    assert.deepEqual(api.TaskTemplate.Resources, { Limits: { NanoCPUs: 5e8, MemoryBytes: 64 * 1024 * 1024 } });
    assert.deepEqual(api.TaskTemplate.RestartPolicy, { Condition: 'on-failure', MaxAttempts: 3 });
    assert.deepEqual(api.EndpointSpec, { Mode: 'vip', Ports: [] });
    const db = specOf(f, 'db');
    assert.deepEqual(db.Mode, { Global: {} });
    // No restart policy declared: Swarm's default (any), as docker stack deploy gives, so a task Swarm rejects is replaced.
    assert.deepEqual(db.TaskTemplate.RestartPolicy, { Condition: 'any' });
    assert.deepEqual(specOf(stack({ services: { web: { image: IMAGE, restart: 'no' } } }), 'web').TaskTemplate.RestartPolicy, { Condition: 'none' }, 'one declared is kept');
    assert.equal(stack(twoServices, { swarm: false }).containers.find((c) => c.component === 'db')?.restartPolicy.name, 'no', 'compose\'s default on Docker Engine');
    assert.deepEqual(db.UpdateConfig, { Parallelism: 1, Order: 'start-first', FailureAction: 'pause' });
  });

  it('puts deploy.labels on the Swarm service (its tasks keep labels), in its spec hash and its drift', () => {
    const labelled = (labels: Record<string, string> | string[]) => stack({ services: { web: { image: IMAGE, labels: { tier: 'front' }, deploy: { labels } } } });
    const f1 = labelled({ 'traefik.enable': 'true', 'traefik.http.routers.web.rule': 'Host(`shop.example`)' });
    const spec = specOf(f1, 'web');
    assert.equal(spec.Labels['traefik.enable'], 'true');
    assert.equal(spec.Labels['traefik.http.routers.web.rule'], 'Host(`shop.example`)');
    assert.equal(spec.Labels.tier, 'front', 'the container labels are the service\'s too, as before');
    assert.equal(spec.TaskTemplate.ContainerSpec.Labels['traefik.enable'], undefined, 'not on the tasks\' containers, as docker stack deploy');
    assert.equal(spec.Labels[STACK_NAMESPACE_LABEL], STACK);
    assert.deepEqual(specOf(labelled(['traefik.enable=true']), 'web').Labels['traefik.enable'], 'true', 'the list form');
    const [p1] = swarmServicePlans(f1, { publishMode: 'ingress' });
    const [p2] = swarmServicePlans(labelled({ 'traefik.enable': 'false' }), { publishMode: 'ingress' });
    const [p0] = swarmServicePlans(stack({ services: { web: { image: IMAGE, labels: { tier: 'front' } } } }), { publishMode: 'ingress' });
    assert.notEqual(p1!.specHash, p2!.specHash, 'a changed label updates the service');
    assert.equal(p1!.taskHash, p2!.taskHash, 'but not its tasks');
    assert.equal(p0!.serviceLabels, undefined);
    // Drift: a service label changed by hand.
    const live = [{ Spec: swarmServiceSpec(p1!, () => 'unused') as unknown as RawSwarmServiceSpec }];
    assert.deepEqual(diffSwarmAgainstFrozen(f1, live, { publishMode: 'ingress', hashSecret: (v) => v }), []);
    live[0]!.Spec.Labels = { ...live[0]!.Spec.Labels, 'traefik.enable': 'false' };
    assert.deepEqual(diffSwarmAgainstFrozen(f1, live, { publishMode: 'ingress', hashSecret: (v) => v }).map((e) => [e.path, e.expected, e.actual]), [[`services[${STACK}_web].labels.traefik.enable`, 'true', 'false']]);
  });

  it('refuses deploy.labels that are Holdfast\'s or the stack\'s, and warns about them on Docker Engine', () => {
    refusal({ services: { web: { image: IMAGE, deploy: { labels: { 'holdfast.dev/service': 'x' } } } } }, /services\.web\.deploy\.labels\.holdfast\.dev\/service/, /Holdfast's own/);
    refusal({ services: { web: { image: IMAGE, deploy: { labels: { [STACK_NAMESPACE_LABEL]: 'x' } } } } }, /services\.web\.deploy\.labels\.com\.docker\.stack\.namespace/, /set by Holdfast/);
    const engine = stack({ services: { web: { image: IMAGE, deploy: { labels: { a: 'b' } } } } }, { swarm: false });
    assert.ok(engine.warnings.some((w) => /services\.web\.deploy\.labels has no effect on Docker Engine/.test(w)), engine.warnings.join('\n'));
  });

  it('honours deploy.rollback_config for Swarm\'s rollback, which has Swarm\'s defaults without it', () => {
    const rolled = (rollback_config: Record<string, unknown>, ports?: string[]) => stack({ services: { web: { image: IMAGE, ...(ports ? { ports } : {}), deploy: { replicas: 2, rollback_config } } } });
    const f1 = rolled({ parallelism: 2, order: 'start-first', delay: '2s', monitor: '10s', failure_action: 'continue', max_failure_ratio: 0.5 });
    assert.deepEqual(specOf(f1, 'web').RollbackConfig, { Parallelism: 2, Order: 'start-first', FailureAction: 'continue', Delay: 2e9, Monitor: 10e9, MaxFailureRatio: 0.5 });
    assert.deepEqual(specOf(rolled({ parallelism: 0 }), 'web').RollbackConfig, { Parallelism: 0, Order: 'stop-first', FailureAction: 'pause' });
    assert.equal(specOf(stack({ services: { web: { image: IMAGE } } }), 'web').RollbackConfig, undefined);
    const [a] = swarmServicePlans(f1, { publishMode: 'ingress' });
    const [b] = swarmServicePlans(rolled({ parallelism: 3 }), { publishMode: 'ingress' });
    assert.notEqual(a!.specHash, b!.specHash, 'a changed rollback_config updates the service');
    // Host-mode ports: the old and the new task cannot hold the port on one node at once.
    const published = rolled({ order: 'start-first' }, ['18080:8080']);
    assert.equal(specOf(published, 'web', 'host').RollbackConfig?.Order, 'stop-first');
    assert.match(swarmServicePlans(published, { publishMode: 'host' })[0]!.adjustedNote ?? '', /rolled back stop-first/);
    refusal({ services: { web: { image: IMAGE, deploy: { rollback_config: { max_failure_ratio: 2 } } } } }, /services\.web\.deploy\.rollback_config\.max_failure_ratio/, /from 0 to 1/);
    refusal({ services: { web: { image: IMAGE, deploy: { rollback_config: { delay: 'soon' } } } } }, /services\.web\.deploy\.rollback_config\.delay/, /not a duration/);
  });

  it('counts the tasks a global service should run by the suitable nodes', () => {
    const node = (id: string, role: string, availability = 'active'): PlacementNode => ({ ID: id, Spec: { Role: role, Availability: availability }, Status: { State: 'ready' } });
    const nodes = [node('m', 'manager'), node('w1', 'worker'), node('w2', 'worker', 'drain')];
    const [api, db] = swarmServicePlans(f, { publishMode: 'ingress' });
    assert.equal(desiredTasks(api!, nodes), 3);
    assert.equal(desiredTasks(db!, nodes), 2);
    assert.equal(desiredTasks({ ...db!, constraints: ['node.role==worker'] }, nodes), 1);
  });

  it('keeps a task template for each service scaled to zero', () => {
    const zero = stack(twoServices, { replicas: 0 });
    assert.equal(zero.containers.length, 0);
    assert.deepEqual(swarmServicePlans(zero, { publishMode: 'ingress' }).map((p) => [p.name, p.replicas]), [[`${STACK}_api`, 0], [`${STACK}_db`, 0]]);
  });

  it('lets several replicas publish a host port, one per node in mode host', () => {
    const published = stack({ services: { web: { image: IMAGE, ports: ['18080:8080'], deploy: { replicas: 2 } } } });
    const [plan] = swarmServicePlans(published, { publishMode: 'host' });
    assert.equal(plan!.maxReplicasPerNode, 1);
    assert.deepEqual(specOf(published, 'web', 'host').EndpointSpec.Ports, [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 18080, PublishMode: 'host' }]);
  });

  it('resolves service names to the tasks (dnsrr) where the kernel has no IPVS for a virtual IP', () => {
    assert.equal(specOf(f, 'api', 'host').EndpointSpec.Mode, 'dnsrr');
    assert.match(swarmServicePlans(f, { publishMode: 'host' })[0]!.adjustedNote ?? '', /no IPVS.*endpoint mode dnsrr/);
    assert.equal(specOf(f, 'api', 'ingress').EndpointSpec.Mode, 'vip');
    const declared = stack({ services: { web: { image: IMAGE, deploy: { endpoint_mode: 'dnsrr' } } } });
    assert.equal(specOf(declared, 'web', 'ingress').EndpointSpec.Mode, 'dnsrr');
  });

  it('refuses what a Swarm service cannot run, each at its path', () => {
    refusal({ services: { web: { image: IMAGE, privileged: true } } }, /^services\.web\.privileged$/, /a Swarm service has no such setting/);
    refusal({ services: { web: { image: IMAGE, network_mode: 'host' } } }, /services\.web\.network_mode/, /no such setting/);
    refusal({ services: { web: { image: IMAGE, networks: ['lan'] } }, networks: { lan: { driver: 'bridge' } } }, /networks\.lan\.driver/, /use overlay/);
    refusal({ services: { web: { image: IMAGE, deploy: { placement: { constraints: ['zone=eu'] } } } } }, /services\.web\.deploy\.placement\.constraints\[0\]/, /has no == or !=/);
    refusal({ services: { 'web.v2': { image: IMAGE } } }, /services\.web\.v2/, /letters, digits, - and _ only/);
    refusal({ services: { web: { image: IMAGE, deploy: { mode: 'global', replicas: 2 } } } }, /services\.web\.deploy\.mode/, /drop replicas/);
    refusal({ services: { job: { image: IMAGE }, web: { image: IMAGE, depends_on: { job: { condition: 'service_completed_successfully' } } } } }, /services\.web\.depends_on/, /no Swarm equivalent/);
  });

  it('warns about the Swarm keys on Docker Engine instead of honouring them', () => {
    const engine = stack(twoServices, { swarm: false });
    assert.ok(engine.warnings.some((w) => /services\.api\.deploy\.placement has no effect on Docker Engine/.test(w)), engine.warnings.join('\n'));
    assert.ok(engine.warnings.some((w) => /services\.db\.deploy\.mode has no effect on Docker Engine/.test(w)));
    assert.equal(engine.components[0]!.placement, undefined);
    assert.equal(engine.networks[0]!.driver, undefined, 'a bridge network on Docker Engine');
  });

  it('reports no drift for a stack service that runs as rendered', () => {
    const live = swarmServicePlans(f, { publishMode: 'ingress' }).map((p) => ({ Spec: swarmServiceSpec(p, () => 'unused') as unknown as RawSwarmServiceSpec }));
    assert.deepEqual(diffSwarmAgainstFrozen(f, live, { publishMode: 'ingress', hashSecret: (v) => v }), []);
    (live[1]!.Spec as { Mode: object }).Mode = { Replicated: { Replicas: 1 } };
    assert.deepEqual(diffSwarmAgainstFrozen(f, live, { publishMode: 'ingress', hashSecret: (v) => v }).map((e) => [e.path, e.expected, e.actual]), [[`services[${STACK}_db].mode`, 'global', 'replicated']]);
  });
});

describe('compose configs and secrets on a Swarm manager', () => {
  const withFiles = (greeting: string) => stack({
    services: { web: { image: IMAGE, configs: [{ source: 'greeting', target: '/etc/greeting' }], secrets: ['dbpass'] } },
    configs: { greeting: { content: greeting } },
    secrets: { dbpass: { environment: 'DB_PASSWORD' } },
  }, { env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] });
  const f = withFiles('hello');
  const ids = (plan: { files: Array<{ name: string; kind: string }> }) => new Map(plan.files.map((x) => [x.name, `${x.kind}-id`]));
  const secretOf = (plan: SwarmServicePlan) => plan.files.find((x) => x.kind === 'secret')!;
  const configOf = (plan: SwarmServicePlan) => plan.files.find((x) => x.kind === 'config')!;

  it('become Swarm configs and secrets named by their content, labelled as the Service\'s', () => {
    const [plan] = swarmServicePlans(f, { publishMode: 'ingress' });
    assert.deepEqual(plan!.files.map((x) => x.kind).sort(), ['config', 'secret']);
    for (const x of plan!.files) {
      assert.match(x.name, new RegExp(`^${STACK}_(dbpass|greeting)_[0-9a-f]{12}$`));
      assert.equal(x.labels[LABELS.service], 'store');
      assert.equal(x.labels[STACK_NAMESPACE_LABEL], STACK);
    }
    const [rotated] = swarmServicePlans(withFiles('bonjour'), { publishMode: 'ingress' });
    assert.notEqual(configOf(rotated!).name, configOf(plan!).name, 'new content, new version');
    assert.equal(secretOf(rotated!).name, secretOf(plan!).name, 'the secret did not change');
    assert.notEqual(rotated!.specHash, plan!.specHash);
  });

  it('are mounted by ID, read-only, where the compose file says', () => {
    const [plan] = swarmServicePlans(f, { publishMode: 'ingress' });
    const c = swarmServiceSpec(plan!, () => 's3cret', ids(plan!)).TaskTemplate.ContainerSpec;
    assert.deepEqual(c.Secrets, [{ File: { Name: '/run/secrets/dbpass', UID: '0', GID: '0', Mode: 0o444 }, SecretID: 'secret-id', SecretName: secretOf(plan!).name }]);
    assert.deepEqual(c.Configs, [{ File: { Name: '/etc/greeting', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: 'config-id', ConfigName: configOf(plan!).name }]);
    assert.doesNotMatch(JSON.stringify(plan), /s3cret/, 'the plan holds a reference to the secret, never its value');
    assert.throws(() => swarmServiceSpec(plan!, () => 's3cret'), /Swarm (config|secret) hf_shop_production_store_\w+ does not exist on the manager/);
  });

  it('are created before the services that mount them, and old versions removed after', () => {
    const [plan] = swarmServicePlans(f, { publishMode: 'ingress' });
    const owned = ownershipLabels(owner);
    const live: SwarmLiveState = {
      services: [], tasks: [], containers: [], networks: [], images: [{ id: 'sha256:b', repoTags: [IMAGE], repoDigests: [] }],
      files: [
        { kind: 'secret', id: 's1', name: secretOf(plan!).name, labels: owned },
        { kind: 'config', id: 'c0', name: `${STACK}_greeting_000000000000`, labels: owned },
        { kind: 'config', id: 'c9', name: `${STACK}_greeting_999999999999`, labels: {} },
      ],
    };
    assert.deepEqual(planSwarmRollout(f, live, { publishMode: 'ingress' }).map((a) => `${a.type} ${a.target}`), [
      `create-network ${STACK}_default`,
      `create-swarm-file ${configOf(plan!).name}`,
      `create-service ${STACK}_web`, `wait-service ${STACK}_web`,
      `remove-swarm-file ${STACK}_greeting_000000000000`,
    ]);
    const taken = planSwarmRollout(f, { ...live, files: [{ kind: 'secret', id: 's1', name: secretOf(plan!).name, labels: {} }] }, { publishMode: 'ingress' });
    assert.deepEqual(taken.map((a) => a.type), ['fail']);
    assert.match(taken[0]!.reason, /exists and is not the Service's/);
  });
});

describe('planning a stack', () => {
  const images = [{ id: 'sha256:b', repoTags: [IMAGE], repoDigests: [] }];
  const empty: SwarmLiveState = { services: [], tasks: [], containers: [], networks: [], files: [], images };
  const opts = { publishMode: 'ingress' as const };
  const f = stack(twoServices);
  const steps = (live: SwarmLiveState) => planSwarmRollout(f, live, opts).map((a) => `${a.type} ${a.target}`);
  const owned = ownershipLabels(owner);

  it('creates the overlay network before the services that join it', () => {
    assert.deepEqual(steps(empty), [
      `create-network ${STACK}_back`,
      `create-service ${STACK}_api`, `wait-service ${STACK}_api`,
      `create-service ${STACK}_db`, `wait-service ${STACK}_db`,
    ]);
  });

  it('replaces a network of the Service left from when it ran as containers, and refuses one that is not its own', () => {
    const bridge = { id: 'n1', name: `${STACK}_back`, driver: 'bridge', labels: owned };
    assert.deepEqual(steps({ ...empty, networks: [bridge] }).slice(0, 2), [`remove-network ${STACK}_back`, `create-network ${STACK}_back`]);
    const foreign = planSwarmRollout(f, { ...empty, networks: [{ ...bridge, labels: {} }] }, opts);
    assert.deepEqual(foreign.map((a) => a.type), ['fail']);
    assert.match(foreign[0]!.reason, /exists with driver bridge, not overlay, and is not the Service's/);
  });

  it('removes the services and networks the compose file no longer declares, the networks last', () => {
    const live: SwarmLiveState = {
      ...empty,
      services: [{ id: 's9', name: `${STACK}_old`, version: 1, labels: owned }, { id: 's8', name: `${STACK}_other`, version: 1, labels: {} }],
      networks: [{ id: 'n1', name: `${STACK}_back`, driver: 'overlay', labels: owned }, { id: 'n2', name: `${STACK}_gone`, driver: 'overlay', labels: owned }],
    };
    const out = steps(live);
    assert.equal(out[0], `remove-service ${STACK}_old`);
    assert.ok(!out.some((s) => s.includes('_other')), 'a service that is not the Service\'s is left alone');
    assert.equal(out.at(-1), `remove-network ${STACK}_gone`);
    assert.ok(!out.includes(`create-network ${STACK}_back`), 'an existing overlay network is kept');
  });
});
