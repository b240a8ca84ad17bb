// A swarm's nodes as a Server's status lists them: fields read from GET /nodes items, the order
// (leader, other managers, workers by hostname) and the one-line summary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSwarmMembers, swarmMember, swarmMembers, type RawSwarmNode } from '../../../core/swarm/nodes.js';

const node = (id: string, hostname: string, over: Partial<RawSwarmNode> = {}): RawSwarmNode => ({
  ID: id,
  Description: { Hostname: hostname, Engine: { EngineVersion: '20.10.24' } },
  Spec: { Role: 'worker', Availability: 'active', Labels: {} },
  Status: { State: 'ready', Addr: `10.0.0.${id.length}` },
  ...over,
});

describe('swarm nodes in Server status', () => {
  const cases: Array<{ name: string; raw: RawSwarmNode; want: ReturnType<typeof swarmMember> }> = [
    {
      name: 'a ready worker',
      raw: node('w1', 'edge-2'),
      want: { id: 'w1', hostname: 'edge-2', role: 'worker', availability: 'active', state: 'ready', address: '10.0.0.2', engineVersion: '20.10.24' },
    },
    {
      name: 'the leading manager with labels',
      raw: node('m1', 'edge-1', { Spec: { Role: 'manager', Availability: 'active', Labels: { zone: 'a' } }, ManagerStatus: { Leader: true, Reachability: 'reachable' } }),
      want: { id: 'm1', hostname: 'edge-1', role: 'manager', leader: true, reachability: 'reachable', availability: 'active', state: 'ready', address: '10.0.0.2', engineVersion: '20.10.24', labels: { zone: 'a' } },
    },
    {
      name: 'a drained worker that is down, with the reason',
      raw: node('w2', 'edge-3', { Spec: { Role: 'worker', Availability: 'drain' }, Status: { State: 'down', Message: 'heartbeat failure' } }),
      want: { id: 'w2', hostname: 'edge-3', role: 'worker', availability: 'drain', state: 'down', engineVersion: '20.10.24', message: 'heartbeat failure' },
    },
    {
      name: 'a ready node keeps no message',
      raw: node('w3', 'edge-4', { Status: { State: 'ready', Message: 'ok' } }),
      want: { id: 'w3', hostname: 'edge-4', role: 'worker', availability: 'active', state: 'ready', engineVersion: '20.10.24' },
    },
    {
      name: 'a node with nothing described',
      raw: { ID: 'x' },
      want: { id: 'x', hostname: '', role: 'worker', availability: 'unknown', state: 'unknown' },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(swarmMember(c.raw), c.want));

  it('lists the leader, then other managers, then workers by hostname', () => {
    const members = swarmMembers([
      node('w2', 'b-worker'),
      node('m2', 'z-manager', { Spec: { Role: 'manager', Availability: 'active' }, ManagerStatus: { Reachability: 'reachable' } }),
      node('w1', 'a-worker'),
      node('m1', 'y-manager', { Spec: { Role: 'manager', Availability: 'active' }, ManagerStatus: { Leader: true } }),
    ]);
    assert.deepEqual(members.map((m) => m.hostname), ['y-manager', 'z-manager', 'a-worker', 'b-worker']);
  });

  const summaries: Array<{ name: string; nodes: RawSwarmNode[]; want: string }> = [
    { name: 'all ready', nodes: [node('m', 'h1', { Spec: { Role: 'manager', Availability: 'active' } }), node('w', 'h2')], want: '1 manager(s), 1 worker(s)' },
    {
      name: 'one down, one drained',
      nodes: [node('m', 'h1', { Spec: { Role: 'manager', Availability: 'active' } }), node('w', 'h2', { Status: { State: 'down' } }), node('v', 'h3', { Spec: { Role: 'worker', Availability: 'drain' } })],
      want: '1 manager(s), 2 worker(s); not ready: h2 down; not taking tasks: h3 drain',
    },
  ];
  for (const c of summaries) it(`summary: ${c.name}`, () => assert.equal(describeSwarmMembers(swarmMembers(c.nodes)), c.want));
});
