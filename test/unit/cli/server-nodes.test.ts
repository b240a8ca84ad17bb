// `holdfast server nodes`: the swarm's nodes from a manager Server's status, as `docker node ls`
// lays them out, and a clear error for a Server that lists none.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HoldfastClient } from '../../../cli/client.js';
import { runServerNodes, swarmNodesTable } from '../../../cli/commands/server-nodes.js';
import type { CommandContext } from '../../../cli/context.js';
import type { Resource } from '../../../core/resource.js';

const nodes = [
  { id: 'm1', hostname: 'edge-1', role: 'manager' as const, leader: true, availability: 'active', state: 'ready', address: '10.0.0.1', engineVersion: '20.10.24', labels: { zone: 'a' } },
  { id: 'w1', hostname: 'edge-2', role: 'worker' as const, availability: 'drain', state: 'down', address: '10.0.0.2', engineVersion: '20.10.24', message: 'heartbeat failure' },
];

function context(server: Resource) {
  let out = '';
  const ctx = {
    out: (text: string) => (out += text),
    err: () => undefined,
    now: () => new Date(),
    client: async () => ({ get: async () => server }) as unknown as HoldfastClient,
    interruptSignal: () => new AbortController().signal,
  } as CommandContext;
  return { ctx, out: () => out };
}

const server = (spec: Record<string, unknown>, status: Record<string, unknown>): Resource => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'swarm-1' }, spec, status });

describe('holdfast server nodes', () => {
  it('lays the nodes out as docker node ls does, the leader first', () => {
    assert.equal(swarmNodesTable(nodes), [
      'HOSTNAME   ROLE      STATUS   AVAILABILITY   MANAGER STATUS   ENGINE VERSION   ADDRESS    LABELS',
      'edge-1     manager   ready    active         Leader           20.10.24         10.0.0.1   zone=a',
      'edge-2     worker    down     drain                           20.10.24         10.0.0.2   <none>',
      '',
    ].join('\n'));
  });

  it('prints a manager Server\'s nodes, as a table or JSON', async () => {
    const s = server({ kind: 'docker-swarm-manager' }, { docker: { swarm: { role: 'manager', nodeList: nodes } } });
    const table = context(s);
    assert.equal(await runServerNodes(table.ctx, 'server/swarm-1', {}), 0);
    assert.match(table.out(), /^HOSTNAME .*\nedge-1 /);
    const json = context(s);
    await runServerNodes(json.ctx, 'swarm-1', { output: 'json' });
    assert.deepEqual(JSON.parse(json.out()), nodes);
  });

  const refusals: Array<[string, Resource, RegExp]> = [
    ['a Docker host', server({ kind: 'docker-engine' }, {}), /server swarm-1 lists no Swarm nodes: it is a docker-engine server, not a docker-swarm-manager/],
    ['a manager whose engine is a worker', server({ kind: 'docker-swarm-manager' }, { docker: { swarm: { role: 'worker' } } }), /its engine is a Swarm worker, not a manager/],
    ['a manager not read yet', server({ kind: 'docker-swarm-manager' }, {}), /its swarm has not been read yet/],
  ];
  for (const [name, s, message] of refusals) {
    it(`refuses ${name} with the reason`, async () => {
      await assert.rejects(runServerNodes(context(s).ctx, 'swarm-1', {}), message);
    });
  }
  it('refuses a target that is not a server name', async () => {
    await assert.rejects(runServerNodes(context(server({}, {})).ctx, 'service/web', {}), /server nodes takes a server name/);
  });
});
