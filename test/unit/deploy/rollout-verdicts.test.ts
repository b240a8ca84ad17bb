import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadinessProbe } from '../../../core/deploy/container-spec.js';
import type { ContainerState } from '../../../core/deploy/normalise-live.js';
import {
  diskFull,
  failureOf,
  judgeReplicaLook,
  judgeSwarmServiceLook,
  planRefusal,
  planSummary,
  replicaWaitExpired,
  rollsBack,
  RolloutFailure,
  type ReplicaLook,
  type SwarmServiceLook,
} from '../../../core/deploy/rollout-verdicts.js';
import type { TaskProgress } from '../../../core/plan/swarm.js';
import type { Action } from '../../../core/plan/types.js';

const action = (type: string, extra: Record<string, unknown> = {}) => ({ type, target: `t-${type}`, reason: 'r', ...extra }) as unknown as Action;

describe('planRefusal', () => {
  const cases: Array<[what: string, actions: Action[], expected: [string, string] | undefined]> = [
    ['no refusal', [action('create'), action('start')], undefined],
    ['one refusal with its own reason', [action('create'), action('fail', { target: 'web', reason: 'port 80 is taken', failure: 'PortInUse' })], ['PortInUse', 'web: port 80 is taken']],
    ['one refusal without a reason of its own', [action('fail', { target: 'web', reason: 'no image' })], ['PlanFailed', 'web: no image']],
    ['two refusals sharing a reason', [action('fail', { target: 'a', reason: 'x', failure: 'PortInUse' }), action('fail', { target: 'b', reason: 'y', failure: 'PortInUse' })], ['PortInUse', 'a: x; b: y']],
    ['two refusals with different reasons', [action('fail', { target: 'a', reason: 'x', failure: 'PortInUse' }), action('fail', { target: 'b', reason: 'y' })], ['PlanFailed', 'a: x; b: y']],
  ];
  for (const [what, actions, expected] of cases) {
    it(what, () => {
      const refusal = planRefusal(actions);
      assert.deepEqual(refusal && [refusal.reason, refusal.message], expected);
    });
  }
});

describe('planSummary', () => {
  const cases: Array<[Action[], string]> = [
    [[], 'the host already runs this input: nothing to do'],
    [[action('wait-healthy'), action('wait-completed')], 'the host already runs this input: 2 replica(s) to check before the rollout completes'],
    [[action('create'), action('start'), action('wait-healthy')], 'plan: 3 action(s)'],
  ];
  for (const [actions, expected] of cases) it(expected, () => assert.equal(planSummary(actions), expected));
});

describe('failureOf and diskFull', () => {
  const at = { deadlinePassed: false, deadline: '2026-12-05T12:00:00.000Z', server: 'edge-1' };
  const cases: Array<[what: string, err: unknown, deadlinePassed: boolean, reason: string, message: RegExp]> = [
    ['a failure keeps its reason', new RolloutFailure('PullFailed', 'cannot pull web:2'), false, 'PullFailed', /^cannot pull web:2$/],
    ['a failure keeps its reason past the deadline too', new RolloutFailure('HealthCheckFailed', 'not ready'), true, 'HealthCheckFailed', /^not ready$/],
    ['anything else past the deadline is DeadlineExceeded', new Error('The operation was aborted'), true, 'DeadlineExceeded', /^the deployment did not finish by its deadline \(2026-12-05T12:00:00.000Z\)$/],
    ['anything else is DeploymentError with its message', new Error('socket hang up'), false, 'DeploymentError', /^socket hang up$/],
    ['a thrown non-error is quoted', 'boom', false, 'DeploymentError', /^boom$/],
    [
      'out of disk in any step is DiskFull, saying what to do',
      new RolloutFailure('PullFailed', 'cannot pull web:2: write /var/lib/docker/tmp/x: no space left on device'),
      false,
      'DiskFull',
      /^server edge-1 is out of disk space \(free some: docker system prune, or grow the volume\): cannot pull web:2: .*no space left on device$/,
    ],
  ];
  for (const [what, err, deadlinePassed, reason, message] of cases) {
    it(what, () => {
      const failure = failureOf(err, { ...at, deadlinePassed });
      assert.equal(failure.reason, reason);
      assert.match(failure.message, message);
    });
  }
  it('leaves any other failure as it was', () => {
    const other = new RolloutFailure('HealthCheckFailed', 'web did not become ready');
    assert.equal(diskFull(other, 'edge-1'), other);
  });
});

describe('rollsBack', () => {
  const base = { autoRollback: true, hasPrevious: true, deadlinePassed: false, aborted: false };
  const cases: Array<[what: string, at: typeof base, expected: boolean]> = [
    ['autoRollback with a previous input', base, true],
    ['autoRollback off', { ...base, autoRollback: false }, false],
    ['no previous completed input', { ...base, hasPrevious: false }, false],
    ['the deadline passed', { ...base, deadlinePassed: true }, false],
    ['aborted (canceled, superseded, handed over)', { ...base, aborted: true }, false],
  ];
  for (const [what, at, expected] of cases) it(what, () => assert.equal(rollsBack(at), expected));
});

const NOW = new Date('2026-12-05T12:00:00.000Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();
const state = (over: Partial<ContainerState> = {}): ContainerState => ({
  status: 'running',
  running: true,
  paused: false,
  restarting: false,
  dead: false,
  oomKilled: false,
  exitCode: 0,
  health: 'none',
  restartCount: 0,
  startedAt: ago(60),
  ...over,
});

describe('judgeReplicaLook', () => {
  const look = (over: Partial<ReplicaLook>): ReplicaLook => ({ target: 'web_1', check: 'running', probed: false, state: state(), now: NOW, ...over });
  const cases: Array<[what: string, look: ReplicaLook, kind: string, detail?: RegExp]> = [
    ['a crash loop fails at once, with the logs', look({ state: state({ status: 'restarting', running: true, restarting: true, restartCount: 4, exitCode: 1 }) }), 'failed:CrashLoopBackOff:tail', /restarted 4 times, last exit code 1/],
    ['an exited container fails, with the logs', look({ state: state({ status: 'exited', running: false, exitCode: 2 }) }), 'failed:ContainerExited:tail', /^web_1 is not running \(exited, exit code 2\)$/],
    ['a first restart is waited for', look({ state: state({ status: 'restarting', restarting: true, restartCount: 1, exitCode: 1 }) }), 'restarting', /^web_1: restarting after exit code 1 \(1 restarts\)$/],
    ['a readiness probe is run', look({ check: 'readiness', probed: true }), 'probe'],
    ['readiness without a probe and no healthcheck waits for it to stay up', look({ check: 'readiness', probed: false }), 'stabilising'],
    ['running, first seen now: stabilising', look({}), 'stabilising'],
    ['running, seen up 2 s on the same start: ready', look({ runningSince: { startedAt: ago(60), at: NOW.getTime() - 2000 } }), 'ready', /^web_1 is running \(up 2 s without a restart\)$/],
    ['running, but restarted since it was first seen: stabilising again', look({ runningSince: { startedAt: ago(120), at: NOW.getTime() - 5000 } }), 'stabilising'],
    ["Docker's healthcheck healthy: ready", look({ check: 'docker-health', state: state({ health: 'healthy' }) }), 'ready', /^web_1 is healthy$/],
    [
      "Docker's healthcheck unhealthy: failed, quoting its last output",
      look({ check: 'docker-health', state: state({ health: 'unhealthy', failingStreak: 3 }), lastHealthOutput: ' curl: (7) refused \n' }),
      'failed:HealthCheckFailed',
      /^web_1 is unhealthy: Docker's healthcheck failed 3 times in a row: curl: \(7\) refused$/,
    ],
    ["Docker's healthcheck starting: pending", look({ check: 'docker-health', state: state({ health: 'starting' }) }), 'pending', /^web_1: Docker's healthcheck is starting$/],
    ["a running check ignores Docker's healthcheck", look({ check: 'running', state: state({ health: 'unhealthy' }) }), 'stabilising'],
  ];
  for (const [what, input, kind, detail] of cases) {
    it(what, () => {
      const v = judgeReplicaLook(input);
      const got = v.kind === 'failed' ? `failed:${v.failure.reason}${v.logTail ? ':tail' : ''}` : v.kind;
      assert.equal(got, kind);
      const text = v.kind === 'failed' ? v.failure.message : 'line' in v ? v.line : undefined;
      if (detail) assert.match(text ?? '', detail);
    });
  }
  it('keeps the first sighting of a start while it stabilises', () => {
    const first = judgeReplicaLook(look({}));
    assert.equal(first.kind, 'stabilising');
    const since = first.kind === 'stabilising' ? first.runningSince : undefined;
    const later = judgeReplicaLook(look({ now: new Date(NOW.getTime() + 1000), runningSince: since }));
    assert.deepEqual(later, { kind: 'stabilising', runningSince: since });
  });
});

describe('replicaWaitExpired', () => {
  const probe: ReadinessProbe = { http: { path: '/', port: 80 }, intervalSeconds: 5, timeoutSeconds: 1, failureThreshold: 3, startPeriodSeconds: 0 };
  const base = { target: 'web_1', deadlineSeconds: 60, now: 1000, until: 61_000, consecutiveFailures: 0 };
  const cases: Array<[what: string, p: Parameters<typeof replicaWaitExpired>[0], expected: RegExp | undefined]> = [
    ['time left: go on', base, undefined],
    ['no probe, the deadline passed', { ...base, now: 61_000 }, /^web_1 did not become ready within 60 s$/],
    ['a probe failing, the deadline passed', { ...base, now: 61_000, probe, consecutiveFailures: 2, lastDetail: 'HTTP 503' }, /^web_1 did not become ready within 60 s after 2 consecutive probe failures \(failureThreshold 3\); last probe: HTTP 503$/],
    ['threshold reached, the next probe would come after the deadline', { ...base, now: 57_000, probe, consecutiveFailures: 3, lastDetail: 'refused' }, /^web_1 is not ready after 3 consecutive probe failures \(failureThreshold 3\): refused$/],
    ['threshold reached, time for another probe', { ...base, now: 50_000, probe, consecutiveFailures: 3, lastDetail: 'refused' }, undefined],
    ['below the threshold near the deadline', { ...base, now: 57_000, probe, consecutiveFailures: 2, lastDetail: 'refused' }, undefined],
    ['stabilising past the deadline', { ...base, now: 61_000, stabilising: true }, /^web_1 did not stay running within 60 s$/],
    ['stabilising in time', { ...base, stabilising: true }, undefined],
  ];
  for (const [what, p, expected] of cases) {
    it(what, () => {
      const failure = replicaWaitExpired(p);
      if (!expected) return assert.equal(failure, undefined);
      assert.equal(failure?.reason, 'HealthCheckFailed');
      assert.match(failure.message, expected);
    });
  }
});

describe('judgeSwarmServiceLook', () => {
  const progress = (over: Partial<TaskProgress> = {}): TaskProgress => ({ running: 2, failed: [], old: 0, summary: '2/2 running', ...over });
  const look = (over: Partial<SwarmServiceLook>): SwarmServiceLook => ({
    name: 'shop_web',
    progress: progress(),
    desired: 2,
    unready: 0,
    describeUnready: () => 'task 1 on node-2: HTTP 503',
    describeFailed: () => 'task 2 on node-3 failed: exit 1',
    healthcheck: false,
    probed: false,
    deadlineSeconds: 60,
    now: 0,
    until: 60_000,
    ...over,
  });
  const failedTask = [{}] as TaskProgress['failed'];
  const cases: Array<[what: string, look: SwarmServiceLook, expected: string]> = [
    ['all tasks of the new spec run', look({}), 'done: shop_web: 2 task(s) of the new spec running'],
    ['…and healthy and ready', look({ healthcheck: true, probed: true }), 'done: shop_web: 2 task(s) of the new spec running and healthy and ready'],
    ['Swarm still updating', look({ updateState: 'updating' }), 'waiting'],
    ['a task of the old spec still running', look({ progress: progress({ old: 1 }) }), 'waiting'],
    ['running but not all ready', look({ probed: true, unready: 1 }), 'waiting'],
    ['a task of the new spec failed', look({ progress: progress({ running: 1, failed: failedTask }) }), 'failed: TaskFailed: Swarm service shop_web: task(s) of the new spec failed (task 2 on node-3 failed: exit 1)'],
    ['Swarm paused the update', look({ progress: progress({ running: 1 }), updateState: 'paused', updateMessage: 'update paused due to failure' }), 'failed: UpdatePaused: Swarm paused the update of shop_web: update paused due to failure (2/2 running)'],
    ['deadline, tasks short', look({ progress: progress({ running: 1, summary: '1/2 running' }), now: 60_000 }), 'failed: HealthCheckFailed: Swarm service shop_web did not run 2 task(s) of the new spec within 60s: 1/2 running'],
    ['deadline, tasks running but unready', look({ probed: true, unready: 1, now: 60_000 }), 'failed: HealthCheckFailed: Swarm service shop_web: 1 task(s) of the new spec not ready within 60s: task 1 on node-2: HTTP 503'],
  ];
  for (const [what, input, expected] of cases) {
    it(what, () => {
      const v = judgeSwarmServiceLook(input);
      assert.equal(v.kind === 'done' ? `done: ${v.line}` : v.kind === 'failed' ? `failed: ${v.failure.reason}: ${v.failure.message}` : v.kind, expected);
    });
  }
});
