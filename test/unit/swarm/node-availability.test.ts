// Node operations, pure: which node a name means, the tasks a drain must move, how far a drain is
// (moved, waiting and why), and the sentence the audit row, the event and the CLI carry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeNodeOperation, type NodeOperationResult } from '../../../controllers/servers/swarm-node-operations.js';
import { nodeOperationReport } from '../../../cli/commands/server-node.js';
import { HoldfastError } from '../../../core/errors.js';
import { drainProgress, resolveNode, taskName, tasksOnNode, type NodeTask } from '../../../core/swarm/node-availability.js';
import type { RawSwarmNode } from '../../../core/swarm/nodes.js';

const nodes: RawSwarmNode[] = [
  { ID: 'm1aaaaaaaaaaaaaa', Description: { Hostname: 'hf-h1' } },
  { ID: 'w2bbbbbbbbbbbbbb', Description: { Hostname: 'hf-h2' } },
  { ID: 'w3cccccccccccccc', Description: { Hostname: 'hf-h3' } },
  { ID: 'w3dddddddddddddd', Description: { Hostname: 'twin' } },
  { ID: 'w4eeeeeeeeeeeeee', Description: { Hostname: 'twin' } },
];

describe('resolveNode', () => {
  const cases: Array<[string, string, string | RegExp]> = [
    ['by hostname', 'hf-h2', 'w2bbbbbbbbbbbbbb'],
    ['by full ID', 'w3dddddddddddddd', 'w3dddddddddddddd'],
    ['by a unique ID prefix', 'm1a', 'm1aaaaaaaaaaaaaa'],
    ['an ambiguous ID prefix', 'w3', /ambiguous: it matches w3cccccccccc, w3dddddddddd/],
    ['a hostname two nodes share', 'twin', /ambiguous: it matches w3dddddddddd, w4eeeeeeeeee; name it by ID/],
    ['no such node, naming the nodes', 'hf-h9', /no node "hf-h9"; its nodes are hf-h1 \(m1aaaaaaaaaa\), hf-h2/],
  ];
  for (const [name, ref, want] of cases) {
    it(name, () => {
      if (typeof want === 'string') assert.equal(resolveNode(nodes, ref).ID, want);
      else assert.throws(() => resolveNode(nodes, ref), (err: unknown) => err instanceof HoldfastError && want.test(err.message));
    });
  }
  it('a missing node is NotFound, an ambiguous one BadRequest', () => {
    assert.throws(() => resolveNode(nodes, 'nope'), (err: HoldfastError) => err.reason === 'NotFound');
    assert.throws(() => resolveNode(nodes, 'twin'), (err: HoldfastError) => err.reason === 'BadRequest');
  });
});

const task = (id: string, serviceId: string, slot: number | undefined, nodeId: string, state: string, desiredState = 'running', extra: Partial<NodeTask> = {}): NodeTask => ({
  id,
  serviceId,
  ...(slot === undefined ? {} : { slot }),
  nodeId,
  state,
  desiredState,
  ...extra,
});

describe('tasksOnNode', () => {
  it('keeps the tasks meant to run on the node, not ended ones nor other nodes', () => {
    const all = [task('a', 's', 1, 'n2', 'running'), task('b', 's', 2, 'n2', 'shutdown', 'shutdown'), task('c', 's', 3, 'n1', 'running'), task('d', 's', 4, 'n2', 'starting'), task('e', 's', 5, 'n2', 'failed')];
    assert.deepEqual(tasksOnNode(all, 'n2').map((t) => t.id), ['a', 'd']);
  });
});

describe('drainProgress', () => {
  const before = [task('t1', 'web', 1, 'n2', 'running'), task('g1', 'agent', undefined, 'n2', 'running')];
  const cases: Array<{ name: string; now: NodeTask[]; moved: string[]; waiting: string[] }> = [
    {
      name: 'nothing happened yet',
      now: [...before],
      moved: [],
      waiting: ['t1: still running on the node', 'g1: still running on the node'],
    },
    {
      name: 'stopped, the replacement is pending for want of a node',
      now: [
        task('t1', 'web', 1, 'n2', 'shutdown', 'shutdown'),
        task('t1b', 'web', 1, '', 'pending', 'running', { err: 'no suitable node (max replicas per node limit exceed)' }),
        task('g1', 'agent', undefined, 'n2', 'shutdown', 'shutdown'),
      ],
      moved: ['g1 -> (stopped)'],
      waiting: ['t1: replacement pending: no suitable node (max replicas per node limit exceed)'],
    },
    {
      name: 'its slot scaled away meanwhile: nothing to move',
      now: [task('t1', 'web', 1, 'n2', 'shutdown', 'shutdown'), task('t9', 'web', 2, 'n1', 'running'), task('g1', 'agent', undefined, 'n2', 'running')],
      moved: ['t1 -> (stopped)'],
      waiting: ['g1: still running on the node'],
    },
    {
      name: 'the replacement runs on another node',
      now: [task('t1', 'web', 1, 'n2', 'shutdown', 'shutdown'), task('t1b', 'web', 1, 'n3', 'running'), task('g1', 'agent', undefined, 'n2', 'shutdown', 'shutdown')],
      moved: ['t1 -> t1b on n3', 'g1 -> (stopped)'],
      waiting: [],
    },
    {
      name: 'the service was removed meanwhile: its tasks are gone',
      now: [task('g1', 'agent', undefined, 'n2', 'complete', 'shutdown')],
      moved: ['t1 -> (stopped)', 'g1 -> (stopped)'],
      waiting: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = drainProgress(before, c.now, 'n2');
      assert.deepEqual(p.moved.map((m) => `${m.from} -> ${m.to ? `${m.to} on ${m.node}` : '(stopped)'}`), c.moved);
      assert.deepEqual(p.waiting.map((w) => `${w.task}: ${w.why}`), c.waiting);
      assert.equal(p.done, c.waiting.length === 0);
    });
  }
});

describe('what a node operation says', () => {
  const base: NodeOperationResult = {
    node: { id: 'w2', hostname: 'hf-h2', role: 'worker' },
    previousAvailability: 'active',
    availability: 'drain',
    moved: [],
    notMoved: [],
    staying: [],
    complete: true,
  };
  const cases: Array<{ name: string; result: NodeOperationResult; line: string; report: string[] }> = [
    {
      name: 'a drain whose tasks moved',
      result: { ...base, moved: [{ task: 'abcdef1234567890', name: 'web.1', node: 'hf-h3' }, { task: 'g1', name: 'agent' }] },
      line: 'node hf-h2: availability active → drain; 2 task(s) moved: web.1 → hf-h3, agent stopped (global service)',
      report: ['node hf-h2 (worker): availability active -> drain', '  web.1 moved to hf-h3 (task abcdef123456)', "  agent stopped (a global service's task)", 'drained: 2 task(s) moved'],
    },
    {
      name: 'a drain that timed out',
      result: { ...base, complete: false, notMoved: [{ task: 't1', name: 'web.2', why: 'replacement pending: no suitable node' }] },
      line: 'node hf-h2: availability active → drain; 1 task(s) not moved in time: web.2 (replacement pending: no suitable node)',
      report: ['node hf-h2 (worker): availability active -> drain', '  web.2 not moved: replacement pending: no suitable node', 'not drained in time: 1 task(s) still to move'],
    },
    {
      name: 'a drain of an empty node',
      result: { ...base },
      line: 'node hf-h2: availability active → drain; no tasks ran there',
      report: ['node hf-h2 (worker): availability active -> drain', 'drained: no tasks ran there'],
    },
    {
      name: 'a pause keeps the tasks',
      result: { ...base, availability: 'pause', staying: [{ task: 't1', name: 'web.1', node: 'hf-h2' }] },
      line: 'node hf-h2: availability active → pause; no new tasks are placed there; 1 task(s) keep running there: web.1',
      report: ['node hf-h2 (worker): availability active -> pause', '  web.1 keeps running there', 'paused: no new tasks are placed there'],
    },
    {
      name: 'activating a drained node',
      result: { ...base, previousAvailability: 'drain', availability: 'active' },
      line: 'node hf-h2: availability drain → active; Swarm places new tasks there again but does not move running ones back',
      report: ['node hf-h2 (worker): availability drain -> active', 'active: new tasks may be placed there again (Swarm does not move running tasks back)'],
    },
    {
      name: 'a node already active',
      result: { ...base, previousAvailability: 'active', availability: 'active' },
      line: 'node hf-h2 was already active',
      report: ['node hf-h2 (worker) was already active'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(describeNodeOperation(c.result), c.line);
      assert.equal(nodeOperationReport(c.result), `${c.report.join('\n')}\n`);
    });
  }
  it('names tasks as docker service ps does', () => {
    assert.equal(taskName('hf_shop_production_web', 2), 'hf_shop_production_web.2');
    assert.equal(taskName('agent', undefined), 'agent');
  });
});
