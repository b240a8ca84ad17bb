// Where the readiness probe of a Swarm task runs from (the node's own Server, the manager through a
// port published in mode host, or nowhere, and why), and which of a task container's addresses its
// node's host reaches: tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadinessProbe } from '../../../core/deploy/container-spec.js';
import type { SwarmServicePlan } from '../../../core/deploy/swarm-spec.js';
import type { RawSwarmNode } from '../../../core/swarm/nodes.js';
import { hostReachableAddress, nodeAddress, taskLabel, taskProbeRoute, type TaskProbeRoute } from '../../../core/swarm/task-probes.js';

const probe = (port = 8080, tcp = false): ReadinessProbe => ({
  ...(tcp ? { tcp: { port } } : { http: { path: '/ready', port } }),
  intervalSeconds: 1,
  timeoutSeconds: 1,
  failureThreshold: 3,
  startPeriodSeconds: 0,
});
const plan = (publishMode: 'host' | 'ingress', ports: Array<{ containerPort: number; hostPort?: number; protocol?: 'tcp' | 'udp' }> = []) =>
  ({ publishMode, container: { ports: ports.map((p) => ({ protocol: 'tcp', ...p })) } }) as unknown as Pick<SwarmServicePlan, 'publishMode' | 'container'>;
const nodes: RawSwarmNode[] = [
  { ID: 'n1', Description: { Hostname: 'hf-h1' }, Status: { State: 'ready', Addr: '0.0.0.0' }, ManagerStatus: { Leader: true, Addr: '10.213.0.2:2377' } },
  { ID: 'n2', Description: { Hostname: 'hf-h2' }, Status: { State: 'ready', Addr: '10.213.0.3' } },
  { ID: 'n3', Description: { Hostname: 'hf-h3' }, Status: { State: 'ready' } },
];
const ctx = { serversByNode: new Map([['n1', 'manager'], ['n2', 'worker-2']]), manager: 'manager', nodes };

describe('where a Swarm task is probed from', () => {
  const cases: Array<{ name: string; node?: string; probe?: ReadinessProbe; plan: ReturnType<typeof plan>; expect: TaskProbeRoute | RegExp }> = [
    { name: "the manager's own node, over the manager's session", node: 'n1', plan: plan('host'), expect: { via: 'node', server: 'manager' } },
    { name: "a worker with a Server, over the worker's session", node: 'n2', plan: plan('ingress'), expect: { via: 'node', server: 'worker-2' } },
    { name: 'a Server wins over a published port', node: 'n2', plan: plan('host', [{ containerPort: 8080, hostPort: 18080 }]), expect: { via: 'node', server: 'worker-2' } },
    {
      name: 'a node the manager does not list: named by its ID, not probed (no address)',
      node: 'n2x',
      plan: plan('host', [{ containerPort: 8080, hostPort: 18080 }]),
      expect: /^node n2x has no Server .*, and the manager lists no address for it$/,
    },
    {
      name: 'a node without a Server nor an address, the probe port published: not probed',
      node: 'n3',
      plan: plan('host', [{ containerPort: 9000, hostPort: 19000 }, { containerPort: 8080, hostPort: 18080 }]),
      expect: /the manager lists no address for it/,
    },
    { name: 'a node without a Server, no port published: not probed, and why', node: 'n3', plan: plan('host', [{ containerPort: 8080 }]), expect: /^node hf-h3 has no Server \(declare one for it, and its tasks are probed over its own session\), and the task does not publish port 8080, through which the manager could reach it$/ },
    { name: 'ingress-mode ports reach any task, not this one', node: 'n3', plan: plan('ingress', [{ containerPort: 8080, hostPort: 18080 }]), expect: /publishes no port in mode host for port 8080/ },
    { name: 'a udp port is no probe target', node: 'n3', plan: plan('host', [{ containerPort: 8080, hostPort: 18080, protocol: 'udp' }]), expect: /does not publish port 8080/ },
    { name: 'a task without a node yet', plan: plan('host'), expect: /^the task has no node yet$/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const route = taskProbeRoute(c.node, c.probe ?? probe(), c.plan, ctx);
      if (c.expect instanceof RegExp) {
        assert.equal(route.via, 'none', JSON.stringify(route));
        assert.match(route.via === 'none' ? route.why : '', c.expect);
      } else assert.deepEqual(route, c.expect);
    });
  }
  it('a node without a Server but with an address: the manager probes the published port there', () => {
    const withAddr = { ...ctx, nodes: [...nodes, { ID: 'n4', Description: { Hostname: 'hf-h4' }, Status: { State: 'ready', Addr: '10.213.0.5' } }] };
    assert.deepEqual(taskProbeRoute('n4', probe(8080, true), plan('host', [{ containerPort: 8080, hostPort: 18080 }]), withAddr), { via: 'published', server: 'manager', address: '10.213.0.5', port: 18080 });
  });
});

describe("a node's address and a task's label", () => {
  it("takes Status.Addr, or the manager address when it reads 0.0.0.0", () => {
    assert.deepEqual(nodes.map(nodeAddress), ['10.213.0.2', '10.213.0.3', undefined]);
  });
  it('names a replicated task by slot and a global one by ID, with its node', () => {
    assert.equal(taskLabel({ id: 'abcdefabcdefabcdef', slot: 2, nodeId: 'n2' }, nodes), 'slot 2 on hf-h2');
    assert.equal(taskLabel({ id: 'abcdefabcdefabcdef', nodeId: 'unknownnode12345' }, nodes), 'task abcdefabcdef on unknownnode1');
  });
});

describe("the address of a task's container its node's host reaches", () => {
  const cases: Array<{ name: string; networks: Record<string, { IPAddress?: string } | null>; overlays: string[]; expect?: string }> = [
    { name: 'a task without networks sits on the bridge', networks: { bridge: { IPAddress: '172.17.0.3' } }, overlays: [], expect: '172.17.0.3' },
    { name: 'an overlay address is out of reach; a bridge beside it is not', networks: { hf_shop_default: { IPAddress: '10.0.1.4' }, bridge: { IPAddress: '172.17.0.4' } }, overlays: ['hf_shop_default'], expect: '172.17.0.4' },
    { name: 'only overlay networks: none', networks: { hf_shop_default: { IPAddress: '10.0.1.4' } }, overlays: ['hf_shop_default'] },
    { name: 'a network without an address yet', networks: { bridge: { IPAddress: '' }, other: null }, overlays: [] },
  ];
  for (const c of cases) it(c.name, () => assert.equal(hostReachableAddress(c.networks, c.overlays), c.expect));
});
