// A Swarm service's tasks as the live view lists them, the drift they make, and the readiness they
// give: tables over the task shapes GET /tasks returns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { swarmTasksHealth, type ProbeRecord } from '../../../core/health/index.js';
import { liveSwarmTask, type LiveSwarmTask, type RawTask } from '../../../core/plan/swarm.js';
import { describeTask, diffSwarmTasks, diffTaskPlacement, swarmTaskViews, type SwarmTaskView } from '../../../core/swarm/tasks.js';

const CURRENT = 'a'.repeat(64);
const OLD = 'b'.repeat(64);
const nodes = new Map([['n1', 'hf-h1'], ['n2', 'hf-h2']]);

const raw = (id: string, over: Partial<RawTask> & { state?: string; hash?: string; exitCode?: number; image?: string } = {}): RawTask => ({
  ID: id,
  ServiceID: 's1',
  NodeID: over.NodeID ?? 'n1',
  Slot: over.Slot ?? 1,
  DesiredState: over.DesiredState ?? 'running',
  Status: { State: over.state ?? 'running', Timestamp: over.Status?.Timestamp ?? '2026-12-04T10:00:00Z', ...(over.Status ?? {}), ...(over.exitCode !== undefined ? { ContainerStatus: { ExitCode: over.exitCode } } : {}) },
  Spec: { ContainerSpec: { Image: over.image ?? 'holdfast-test/busybox:1', Labels: { 'holdfast.dev/spec-hash': over.hash ?? CURRENT } } },
});
const tasks = (...items: RawTask[]): LiveSwarmTask[] => items.map(liveSwarmTask);

describe('Swarm tasks in the live view', () => {
  it('lists each task with its node, states, error, exit code and digest, by slot and newest first', () => {
    const views = swarmTaskViews(
      tasks(
        raw('t3', { Slot: 2, NodeID: 'n2' }),
        raw('t1', { Slot: 1, DesiredState: 'shutdown', state: 'failed', exitCode: 3, Status: { Err: 'task: non-zero exit (3)', Timestamp: '2026-12-04T09:00:00Z' } }),
        raw('t2', { Slot: 1, image: 'holdfast-test/busybox:1@sha256:abc', Status: { Timestamp: '2026-12-04T09:30:00Z' } }),
        raw('t4', { Slot: 3, NodeID: 'gone', hash: OLD }),
      ),
      nodes,
      CURRENT,
    );
    assert.deepEqual(views, [
      { id: 't2', slot: 1, node: 'hf-h1', state: 'running', desiredState: 'running', image: 'holdfast-test/busybox:1@sha256:abc', imageDigest: 'sha256:abc', current: true, since: '2026-12-04T09:30:00Z' },
      { id: 't1', slot: 1, node: 'hf-h1', state: 'failed', desiredState: 'shutdown', error: 'task: non-zero exit (3)', exitCode: 3, image: 'holdfast-test/busybox:1', current: true, since: '2026-12-04T09:00:00Z' },
      { id: 't3', slot: 2, node: 'hf-h2', state: 'running', desiredState: 'running', image: 'holdfast-test/busybox:1', current: true, since: '2026-12-04T10:00:00Z' },
      { id: 't4', slot: 3, node: 'gone', state: 'running', desiredState: 'running', image: 'holdfast-test/busybox:1', current: false, since: '2026-12-04T10:00:00Z' },
    ]);
  });

  it('keeps the exit code of ended tasks only (a running task reports 0)', () => {
    assert.equal(liveSwarmTask(raw('t', { exitCode: 0 })).exitCode, undefined);
    assert.equal(liveSwarmTask(raw('t', { state: 'complete', exitCode: 0 })).exitCode, 0);
  });

  const described: Array<[string, SwarmTaskView, string]> = [
    ['failed with an error and exit code', { id: 't', state: 'failed', desiredState: 'shutdown', node: 'hf-h2', error: 'task: non-zero exit (3)', exitCode: 3, current: true }, 'failed on hf-h2: task: non-zero exit (3) (exit code 3)'],
    ['pending with the scheduler message', { id: 't', state: 'pending', desiredState: 'running', message: 'no suitable node', current: true }, 'pending: no suitable node'],
    ['running', { id: 't', state: 'running', desiredState: 'running', node: 'hf-h1', message: 'started', current: true }, 'running on hf-h1'],
  ];
  for (const [name, view, want] of described) it(`describes a task: ${name}`, () => assert.equal(describeTask(view), want));
});

describe('drift of Swarm tasks', () => {
  const base = 'services[hf_shop_production_web]';
  const cases: Array<{ name: string; tasks: RawTask[]; replicas: number; want: Array<[string, string, unknown]> }> = [
    { name: 'every slot running: none', tasks: [raw('t1'), raw('t2', { Slot: 2 })], replicas: 2, want: [] },
    {
      name: 'a task meant to run that failed, an old failed task passed over',
      tasks: [raw('t1', { state: 'failed', NodeID: 'n2', Status: { Err: 'boom' } }), raw('t0', { DesiredState: 'shutdown', state: 'failed' }), raw('t2', { Slot: 2 })],
      replicas: 2,
      want: [[`${base}.tasks[1]`, 'changed', 'failed on hf-h2: boom']],
    },
    { name: 'a slot with no task meant to run', tasks: [raw('t1')], replicas: 3, want: [[`${base}.tasks[2]`, 'missing', undefined], [`${base}.tasks[3]`, 'missing', undefined]] },
    { name: 'scaled to zero: nothing expected', tasks: [], replicas: 0, want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const entries = diffSwarmTasks(base, swarmTaskViews(tasks(...c.tasks), nodes, CURRENT), c.replicas);
      assert.deepEqual(entries.map((e) => [e.path, e.kind, e.actual]), c.want);
      for (const e of entries) assert.equal(e.source, 'live-vs-frozen');
    });
  }
});

describe('readiness of a Swarm service', () => {
  const cases: Array<{ name: string; tasks: RawTask[]; desired: number; ready: number; status: string; reason: string; message?: RegExp }> = [
    { name: 'every task of the deployed spec running', tasks: [raw('t1'), raw('t2', { Slot: 2, NodeID: 'n2' })], desired: 2, ready: 2, status: 'True', reason: 'Available' },
    { name: 'a task of an older spec is not ready', tasks: [raw('t1'), raw('t2', { Slot: 2, NodeID: 'n2', hash: OLD })], desired: 2, ready: 1, status: 'False', reason: 'ReplicasStarting', message: /hf_web\.2: task runs an older spec on hf-h2/ },
    { name: 'a failed task', tasks: [raw('t1'), raw('t2', { Slot: 2, state: 'failed', Status: { Err: 'boom' } })], desired: 2, ready: 1, status: 'False', reason: 'ReplicasNotRunning', message: /hf_web\.2: task failed on hf-h1: boom/ },
    { name: 'ended tasks do not count, a slot unscheduled', tasks: [raw('t1'), raw('t0', { DesiredState: 'shutdown', state: 'complete' })], desired: 2, ready: 1, status: 'False', reason: 'ReplicasMissing' },
    { name: 'scaled to zero', tasks: [], desired: 0, ready: 0, status: 'True', reason: 'Available' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const health = swarmTasksHealth([{ name: 'hf_web', tasks: swarmTaskViews(tasks(...c.tasks), nodes, CURRENT), desired: c.desired }]);
      assert.deepEqual([health.readyReplicas, health.ready.status, health.ready.reason], [c.ready, c.status, c.reason], health.ready.message);
      if (c.message) assert.match(health.ready.message, c.message);
    });
  }
  it('adds up the services of a stack', () => {
    const health = swarmTasksHealth([
      { name: 'hf_shop_web', tasks: swarmTaskViews(tasks(raw('t1'), raw('t2', { Slot: 2, NodeID: 'n2' })), nodes, CURRENT), desired: 2 },
      { name: 'hf_shop_db', tasks: swarmTaskViews(tasks(raw('t3', { state: 'starting' })), nodes, CURRENT), desired: 1 },
    ], 'manager');
    assert.deepEqual([health.readyReplicas, health.desiredReplicas, health.ready.status], [2, 3, 'False']);
    assert.match(health.ready.message, /^2\/3 replicas ready on manager; hf_shop_db\.1: task starting/);
  });
});

describe('Swarm readiness with an http/tcp probe per task', () => {
  const spec = { http: { path: '/ready', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 3, startPeriodSeconds: 0 };
  const record = (passing: boolean, failures = 0, lastDetail?: string): ProbeRecord => ({ passing, consecutiveFailures: failures, consecutiveSuccesses: passing ? 1 : 0, ...(lastDetail ? { lastDetail } : {}) });
  const two = () => swarmTaskViews(tasks(raw('t1'), raw('t2', { Slot: 2, NodeID: 'n2' })), nodes, CURRENT);
  const cases: Array<{ name: string; records: Array<[string, ProbeRecord]>; unprobed?: Array<[string, string]>; ready: number; status: string; reason: string; message?: RegExp }> = [
    { name: 'every running task passed its probe', records: [['t1', record(true)], ['t2', record(true)]], ready: 2, status: 'True', reason: 'Available', message: /^2\/2 replicas ready$/ },
    { name: 'a running task not probed yet is not ready', records: [['t1', record(true)]], ready: 1, status: 'False', reason: 'ReplicasStarting', message: /hf_web\.2: task running on hf-h2; its readiness probe has not passed yet$/ },
    {
      name: 'a task failing its probe failureThreshold times',
      records: [['t1', record(true)], ['t2', record(false, 3, 'GET http://172.17.0.3:8080/ready answered 404')]],
      ready: 1,
      status: 'False',
      reason: 'ProbeFailing',
      message: /hf_web\.2: task running on hf-h2; 3 consecutive probe failures \(failureThreshold 3\): GET http:\/\/172\.17\.0\.3:8080\/ready answered 404/,
    },
    { name: 'fewer failures than the threshold: still starting, with the last probe', records: [['t1', record(true)], ['t2', record(false, 1, 'tcp 172.17.0.3:8080: connection refused')]], ready: 1, status: 'False', reason: 'ReplicasStarting', message: /last probe: tcp 172\.17\.0\.3:8080: connection refused/ },
    {
      name: 'a task whose probe is not run counts as ready, and the condition says why',
      records: [['t1', record(true)]],
      unprobed: [['t2', 'node hf-h2 has no Server']],
      ready: 2,
      status: 'True',
      reason: 'Available',
      message: /^2\/2 replicas ready; readiness probe not run for hf_web\.2: node hf-h2 has no Server$/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const health = swarmTasksHealth([{ name: 'hf_web', tasks: two(), desired: 2, probe: { spec, records: new Map(c.records), unprobed: new Map(c.unprobed ?? []) } }]);
      assert.deepEqual([health.readyReplicas, health.ready.status, health.ready.reason], [c.ready, c.status, c.reason], health.ready.message);
      if (c.message) assert.match(health.ready.message, c.message);
    });
  }
  it('a task of an older spec is not ready whatever its probe says', () => {
    const views = swarmTaskViews(tasks(raw('t1', { hash: OLD })), nodes, CURRENT);
    const health = swarmTasksHealth([{ name: 'hf_web', tasks: views, desired: 1, probe: { spec, records: new Map([['t1', record(true)]]) } }]);
    assert.equal(health.readyReplicas, 0);
  });
});

describe('drift of tasks on nodes the constraints exclude', () => {
  const node = (id: string, hostname: string, labels: Record<string, string>) => ({ ID: id, Description: { Hostname: hostname }, Spec: { Role: 'worker', Labels: labels }, Status: { State: 'ready' } });
  const nodes = [node('n1', 'hf-h1', { zone: 'a' }), node('n2', 'hf-h2', { zone: 'b' })];
  const view = (slot: number, on: string, state = 'running'): SwarmTaskView => ({ id: `t${slot}`, slot, node: on, state, desiredState: 'running', current: true });
  const cases: Array<{ name: string; views: SwarmTaskView[]; constraints: string[]; expect: string[] }> = [
    { name: 'every task on a node that satisfies them', views: [view(1, 'hf-h1')], constraints: ['node.labels.zone==a'], expect: [] },
    { name: 'a task left on a node relabelled since', views: [view(1, 'hf-h1'), view(2, 'hf-h2')], constraints: ['node.labels.zone==a'], expect: ['services[hf_web].tasks[2].node'] },
    { name: 'no constraints, no placement drift', views: [view(1, 'hf-h2')], constraints: [], expect: [] },
    { name: 'a task that does not run is drift of its own already', views: [view(1, 'hf-h2', 'failed')], constraints: ['node.labels.zone==a'], expect: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const entries = diffTaskPlacement('services[hf_web]', c.views, nodes, c.constraints);
      assert.deepEqual(entries.map((e) => e.path), c.expect);
      for (const e of entries) assert.deepEqual([e.kind, e.expected, e.actual], ['changed', 'a node where node.labels.zone==a', 'hf-h2']);
    });
  }
});
