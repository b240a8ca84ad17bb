// Placement, pure and end to end through the pure path: constraints parsed as Swarm parses them,
// spec.placement checked at render time, the Placement of the built ServiceSpec and its spec hash,
// and a plan that fails with NoSuitableNode when no node (or too few) can take the tasks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex, type FrozenInput } from '../../../core/deploy/container-spec.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { swarmServicePlans, swarmServiceSpec } from '../../../core/deploy/swarm-spec.js';
import { ValidationError } from '../../../core/errors.js';
import { planSwarmRollout } from '../../../core/plan/swarm.js';
import type { ServiceSpec } from '../../../core/schema/types.generated.js';
import { nodeSatisfies, parseConstraint, spreadProblem, unplaceable, type Constraint, type PlacementNode } from '../../../core/swarm/placement.js';
import { service } from '../deploy/fixtures.js';

const node = (id: string, hostname: string, role: 'manager' | 'worker', labels: Record<string, string> = {}, over: Partial<PlacementNode> = {}): PlacementNode => ({
  ID: id,
  Description: { Hostname: hostname, Platform: { OS: 'linux', Architecture: 'x86_64' }, Engine: { EngineVersion: '20.10', Labels: { storage: 'ssd' } } },
  Spec: { Role: role, Availability: 'active', Labels: labels },
  Status: { State: 'ready' },
  ...over,
});
const NODES = [node('m1', 'hf-h1', 'manager', { zone: 'a' }), node('w2', 'hf-h2', 'worker', { zone: 'b' }), node('w3', 'hf-h3', 'worker')];

describe('parseConstraint', () => {
  const cases: Array<[string, Constraint | RegExp]> = [
    ['node.role==worker', { key: 'node.role', op: '==', value: 'worker' }],
    ['node.role == manager', { key: 'node.role', op: '==', value: 'manager' }],
    ['Node.Hostname!=hf-h1', { key: 'node.hostname', op: '!=', value: 'hf-h1' }],
    ['node.labels.Zone==a', { key: 'node.labels.Zone', op: '==', value: 'a' }],
    ['engine.labels.storage==ssd', { key: 'engine.labels.storage', op: '==', value: 'ssd' }],
    ['node.platform.os==linux', { key: 'node.platform.os', op: '==', value: 'linux' }],
    ['node.role=worker', /has no == or !=/],
    ['node.zone==a', /"node.zone" is not one of node.id, node.hostname, node.role/],
    ['node.labels.==a', /is not one of/],
    ['node.role==boss', /node.role is manager or worker, not "boss"/],
    ['node.hostname==', /"" is not a constraint value/],
    ['node.hostname==a;b', /"a;b" is not a constraint value/],
  ];
  for (const [text, want] of cases) {
    it(text, () => {
      const got = parseConstraint(text);
      if (want instanceof RegExp) assert.match(String(got), want);
      else assert.deepEqual(got, want);
    });
  }
  it('spread takes node and engine labels only', () => {
    assert.equal(spreadProblem('node.labels.zone'), undefined);
    assert.equal(spreadProblem('engine.labels.rack'), undefined);
    assert.match(spreadProblem('node.hostname') ?? '', /is not node.labels.KEY or engine.labels.KEY/);
  });
});

describe('which nodes satisfy constraints', () => {
  const cases: Array<[string[], string[]]> = [
    [['node.role==worker'], ['hf-h2', 'hf-h3']],
    [['node.role!=worker'], ['hf-h1']],
    [['node.labels.zone==A'], ['hf-h1']],
    [['node.labels.zone!=a'], ['hf-h2', 'hf-h3']],
    [['node.role==worker', 'node.labels.zone==b'], ['hf-h2']],
    [['engine.labels.storage==ssd', 'node.hostname!=hf-h2'], ['hf-h1', 'hf-h3']],
    [['node.platform.arch==aarch64'], []],
  ];
  for (const [constraints, want] of cases) {
    it(constraints.join(' and '), () => {
      const parsed = constraints.map((c) => parseConstraint(c) as Constraint);
      assert.deepEqual(NODES.filter((n) => nodeSatisfies(n, parsed)).map((n) => n.Description!.Hostname), want);
    });
  }
});

describe('unplaceable', () => {
  const drained = [NODES[0]!, node('w2', 'hf-h2', 'worker', {}, { Spec: { Role: 'worker', Availability: 'drain' } }), node('w3', 'hf-h3', 'worker', {}, { Status: { State: 'down' } })];
  const cases: Array<{ name: string; nodes: PlacementNode[]; constraints: string[]; max?: number; replicas: number; want?: RegExp }> = [
    { name: 'placeable', nodes: NODES, constraints: ['node.role==worker'], replicas: 3 },
    { name: 'scaled to zero is always placeable', nodes: NODES, constraints: ['node.labels.zone==nowhere'], replicas: 0 },
    { name: 'a constraint no node satisfies is named', nodes: NODES, constraints: ['node.role==worker', 'node.labels.zone==nowhere'], replicas: 1, want: /^constraint "node.labels.zone==nowhere" matches none of the 3 ready and active node\(s\) \(hf-h1, hf-h2, hf-h3\)$/ },
    { name: 'constraints that exclude every node only together', nodes: NODES, constraints: ['node.role==manager', 'node.labels.zone==b'], replicas: 1, want: /^constraints "node.role==manager", "node.labels.zone==b" together match none of the 3/ },
    { name: 'drained and down nodes do not count', nodes: drained, constraints: ['node.role==worker'], replicas: 1, want: /"node.role==worker" matches none of the 1 ready and active node\(s\) \(hf-h1\)/ },
    { name: 'too few nodes for the tasks per node', nodes: NODES, constraints: ['node.role==worker'], max: 1, replicas: 3, want: /^3 replicas at most 1 per node need 3 node\(s\) matching "node.role==worker", and 2 ready and active node\(s\) do \(hf-h2, hf-h3\)$/ },
    { name: 'enough nodes for two per node', nodes: NODES, constraints: ['node.role==worker'], max: 2, replicas: 4 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = unplaceable(c.nodes, { constraints: c.constraints, spread: [], ...(c.max ? { maxReplicasPerNode: c.max } : {}) }, c.replicas);
      if (c.want) assert.match(got ?? '(placeable)', c.want);
      else assert.equal(got, undefined);
    });
  }
});

const IMAGE = 'holdfast-test/busybox:1';
const frozen = (spec: Partial<ServiceSpec>, swarm = true): FrozenInput =>
  renderFrozenInput(service({ source: { image: IMAGE }, command: ['httpd', '-f'], replicas: 3, ...spec }, 'web'), { resolveSecret: (n, k) => ({ hash: sha256Hex(`${n}/${k}`) }), swarm });

describe('spec.placement on a Swarm manager', () => {
  const placement = { constraints: ['node.role==worker'], preferences: [{ spread: 'node.labels.zone' }], maxReplicasPerNode: 2 };

  it('builds the ServiceSpec Placement, and the spec hash follows it', () => {
    const f = frozen({ placement });
    const [plan] = swarmServicePlans(f, { publishMode: 'ingress' });
    const spec = swarmServiceSpec(plan!, () => '');
    assert.deepEqual(spec.TaskTemplate.Placement, { Constraints: ['node.role==worker'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 });
    const without = swarmServicePlans(frozen({}), { publishMode: 'ingress' })[0]!;
    assert.equal(swarmServiceSpec(without, () => '').TaskTemplate.Placement, undefined);
    assert.notEqual(plan!.specHash, without.specHash);
    assert.equal(plan!.taskHash, without.taskHash, 'a placement change replaces tasks through the service, not the task hash');
    const other = swarmServicePlans(frozen({ placement: { ...placement, constraints: ['node.role==manager'] } }), { publishMode: 'ingress' })[0]!;
    assert.notEqual(other.specHash, plan!.specHash);
  });

  it('keeps the max_replicas_per_node 1 it adds for host ports, and refuses a declared one above 1', () => {
    const ports = [{ containerPort: 8080, hostPort: 18080, protocol: 'tcp' as const }];
    const [added] = swarmServicePlans(frozen({ ports }), { publishMode: 'host' });
    assert.equal(added!.maxReplicasPerNode, 1);
    const [declared] = swarmServicePlans(frozen({ ports, placement: { maxReplicasPerNode: 1 } }), { publishMode: 'host' });
    assert.equal(declared!.maxReplicasPerNode, 1);
    assert.equal(declared!.adjustedNote?.includes('added'), false);
    assert.throws(() => swarmServicePlans(frozen({ ports, placement: { maxReplicasPerNode: 2 } }), { publishMode: 'host' }), /placement.maxReplicasPerNode 2 would put several tasks publishing host port 18080 in mode host on one node: set it to 1/);
  });

  const refusals: Array<{ name: string; spec: Partial<ServiceSpec>; swarm?: boolean; field: string; message: RegExp }> = [
    { name: 'a bad constraint', spec: { placement: { constraints: ['node.role==worker', 'zone=a'] } }, field: 'spec.placement.constraints[1]', message: /has no == or !=/ },
    { name: 'a spread over no label', spec: { placement: { preferences: [{ spread: 'node.id' }] } }, field: 'spec.placement.preferences[0].spread', message: /is not node.labels.KEY/ },
    { name: 'placement on a Docker host', spec: { placement: { constraints: ['node.role==worker'] } }, swarm: false, field: 'spec.placement', message: /is not a docker-swarm-manager/ },
    { name: 'a hostIP on a Swarm manager, saying why', spec: { ports: [{ containerPort: 8080, hostPort: 18080, hostIP: '127.0.0.1', protocol: 'tcp' }] }, field: 'spec.ports[0].hostIP', message: /publishes on every address of the node that runs a task .*: 127\.0\.0\.1 cannot be honoured on a docker-swarm-manager server; drop hostIP/ },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} with its field`, () => {
      assert.throws(
        () => frozen(r.spec, r.swarm ?? true),
        (err: unknown) => err instanceof ValidationError && err.causes.some((c) => c.field === r.field && r.message.test(c.message)),
      );
    });
  }

  it('fails the plan with NoSuitableNode before touching the service', () => {
    const f = frozen({ placement: { constraints: ['node.labels.zone==nowhere'] } });
    const actions = planSwarmRollout(f, { services: [], tasks: [], nodes: NODES, containers: [], networks: [], files: [], images: [] }, { publishMode: 'ingress' });
    assert.deepEqual(actions.map((a) => a.type), ['fail']);
    const fail = actions[0] as { failure?: string; reason: string };
    assert.equal(fail.failure, 'NoSuitableNode');
    assert.match(fail.reason, /Swarm cannot place its tasks: constraint "node.labels.zone==nowhere" matches none of the 3 ready and active node\(s\)/);
    const ok = planSwarmRollout(frozen({ placement: { constraints: ['node.role==worker'] } }), { services: [], tasks: [], nodes: NODES, containers: [], networks: [], files: [], images: [{ id: 'sha256:b', repoTags: [IMAGE], repoDigests: [] }] }, { publishMode: 'ingress' });
    assert.deepEqual(ok.map((a) => a.type), ['create-service', 'wait-service']);
  });
});
