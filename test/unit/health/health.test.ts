// Replica and Service health on real `docker inspect` output (the drift fixtures, captured on a test
// host): every state a replica can be in, the reason and message people read, and the Service's
// Ready condition and ready/desired counts computed from them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadinessProbe } from '../../../core/deploy/container-spec.js';
import { containerState, type ContainerState } from '../../../core/deploy/normalise-live.js';
import { frozenInputHealth, recordProbe, replicaHealth, serviceHealth, type ProbeRecord, type ReplicaObservation, type ReplicaState } from '../../../core/health/index.js';
import { inspectFixture, webFrozen, workerFrozen } from '../drift/fixtures.js';

const state = (fixture: string, patch: Partial<ContainerState> = {}): ContainerState => ({ ...containerState(inspectFixture(fixture)), ...patch });
const at = (iso: string, plusSeconds: number) => new Date(Date.parse(iso) + plusSeconds * 1000);

// web-running started at 09:32:10.43; the restarting fixture died at 09:32:19.15.
const RUNNING_SINCE = '2026-11-26T09:32:10.426860511Z';
const LATER = at(RUNNING_SINCE, 3600);
const httpProbe: ReadinessProbe = { http: { path: '/', port: 8080 }, intervalSeconds: 2, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 0 };
const probeRecord = (patch: Partial<ProbeRecord>): ProbeRecord => ({ startedAt: RUNNING_SINCE, consecutiveFailures: 0, consecutiveSuccesses: 0, passing: false, ...patch });

describe('replica health from docker inspect', () => {
  const cases: Array<{ what: string; obs: Omit<ReplicaObservation, 'name'>; now?: Date; state: ReplicaState; reason: string; message: RegExp; ready: boolean }> = [
    { what: 'running and healthy', obs: { state: state('web-running') }, state: 'Ready', reason: 'Ready', message: /running and healthy/, ready: true },
    { what: 'running, no healthcheck', obs: { state: state('worker-1-running') }, state: 'Ready', reason: 'Ready', message: /: running$/, ready: true },
    { what: "Docker's healthcheck still starting", obs: { state: state('web-running-again') }, state: 'Starting', reason: 'HealthCheckStarting', message: /not passed yet/, ready: false },
    { what: "Docker's healthcheck unhealthy", obs: { state: state('web-unhealthy') }, state: 'Unhealthy', reason: 'HealthCheckFailing', message: /unhealthy \(2 consecutive failures\)/, ready: false },
    { what: 'stopped by hand', obs: { state: state('web-stopped') }, state: 'NotRunning', reason: 'ContainerNotRunning', message: /exited \(exit code 137\)/, ready: false },
    { what: 'killed', obs: { state: state('web-killed') }, state: 'NotRunning', reason: 'ContainerNotRunning', message: /exit code 137/, ready: false },
    { what: 'restarting below the crash-loop count', obs: { state: state('web-restarting') }, state: 'NotRunning', reason: 'ContainerNotRunning', message: /restarting after exit code 1/, ready: false },
    { what: 'restarting for the third time', obs: { state: state('web-restarting', { restartCount: 3 }) }, state: 'CrashLoopBackOff', reason: 'CrashLoopBackOff', message: /restarted 3 times, last exit code 1; Docker is backing off/, ready: false },
    {
      what: 'running again moments after its fifth restart: still a crash loop, with the exit code the cache saw',
      obs: { state: state('web-running', { restartCount: 5 }), lastExitCode: 3 },
      now: at(RUNNING_SINCE, 2),
      state: 'CrashLoopBackOff',
      reason: 'CrashLoopBackOff',
      message: /restarted 5 times, last exit code 3/,
      ready: false,
    },
    { what: 'running stably for an hour after old restarts', obs: { state: state('web-running', { restartCount: 5 }) }, state: 'Ready', reason: 'Ready', message: /running/, ready: true },
    { what: 'paused', obs: { state: state('web-running', { paused: true, status: 'paused' }) }, state: 'Paused', reason: 'ContainerPaused', message: /paused/, ready: false },
    { what: 'no container', obs: {}, state: 'Missing', reason: 'ContainerMissing', message: /no container of this name/, ready: false },
    { what: 'a one-shot component done', obs: { state: state('web-stopped', { exitCode: 0 }), runsToCompletion: true }, state: 'Completed', reason: 'Completed', message: /exit code 0/, ready: true },
    { what: 'a one-shot component failed', obs: { state: state('web-stopped', { exitCode: 2 }), runsToCompletion: true }, state: 'NotRunning', reason: 'ContainerNotRunning', message: /exit code 2/, ready: false },
    {
      what: 'probe declared, no result yet',
      obs: { state: state('worker-1-running', { startedAt: RUNNING_SINCE }), probe: { spec: httpProbe } },
      state: 'Starting',
      reason: 'ProbeNotPassed',
      message: /has not passed yet$/,
      ready: false,
    },
    {
      what: 'probe passing',
      obs: { state: state('worker-1-running', { startedAt: RUNNING_SINCE }), probe: { spec: httpProbe, record: probeRecord({ consecutiveSuccesses: 4, passing: true }) } },
      state: 'Ready',
      reason: 'Ready',
      message: /readiness probe passes/,
      ready: true,
    },
    {
      what: 'probe failed twice of a threshold of three: still ready',
      obs: { state: state('worker-1-running', { startedAt: RUNNING_SINCE }), probe: { spec: httpProbe, record: probeRecord({ consecutiveFailures: 2, passing: true }) } },
      state: 'Ready',
      reason: 'Ready',
      message: /probe passes/,
      ready: true,
    },
    {
      what: 'probe failed failureThreshold times in a row',
      obs: {
        state: state('worker-1-running', { startedAt: RUNNING_SINCE }),
        probe: { spec: httpProbe, record: probeRecord({ consecutiveFailures: 3, passing: false, lastDetail: 'GET http://172.17.0.2:8080/ answered 404' }) },
      },
      state: 'ProbeFailing',
      reason: 'ProbeFailing',
      message: /3 consecutive probe failures \(failureThreshold 3\): GET http:\/\/172\.17\.0\.2:8080\/ answered 404/,
      ready: false,
    },
    {
      what: "probe results of the container's previous run do not count",
      obs: { state: state('web-running-again', { health: 'none' }), probe: { spec: httpProbe, record: probeRecord({ consecutiveSuccesses: 9, passing: true }) } },
      state: 'Starting',
      reason: 'ProbeNotPassed',
      message: /not passed yet/,
      ready: false,
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const got = replicaHealth({ name: 'web_1', ...c.obs }, c.now ?? LATER);
      assert.equal(got.state, c.state);
      assert.equal(got.reason, c.reason);
      assert.equal(got.ready, c.ready);
      assert.match(got.message, c.message);
      assert.match(got.message, /^web_1: /);
    });
  }
});

describe('Service health: counts and the Ready condition', () => {
  const web = webFrozen();
  const workers = workerFrozen();
  const live = (name: string, fixture: string, patch: Partial<ContainerState> = {}) => ({ name, state: state(fixture, patch) });

  it('every replica ready: True, Available, n/n', () => {
    const h = frozenInputHealth(workers, { live: workers.containers.map((c) => live(c.name, 'worker-1-running')), now: LATER, server: 'edge' });
    assert.deepEqual([h.readyReplicas, h.desiredReplicas], [2, 2]);
    assert.deepEqual(h.ready, { status: 'True', reason: 'Available', message: '2/2 replicas ready on edge' });
  });

  it('one replica stopped: False, ReplicasNotRunning, 1/2 and which one', () => {
    const [w1, w2] = workers.containers.map((c) => c.name);
    const h = frozenInputHealth(workers, { live: [live(w1, 'worker-1-running'), live(w2, 'web-stopped')], now: LATER });
    assert.equal(h.readyReplicas, 1);
    assert.equal(h.ready.status, 'False');
    assert.equal(h.ready.reason, 'ReplicasNotRunning');
    assert.equal(h.ready.message, `1/2 replicas ready; ${w2}: exited (exit code 137)`);
  });

  it('a crash loop outranks a missing replica in the reason', () => {
    const [w1] = workers.containers.map((c) => c.name);
    const h = frozenInputHealth(workers, { live: [live(w1, 'web-restarting', { restartCount: 7, exitCode: 3 })], now: LATER });
    assert.equal(h.readyReplicas, 0);
    assert.equal(h.ready.reason, 'CrashLoopBackOff');
    assert.match(h.ready.message, /^0\/2 replicas ready; .*restarted 7 times, last exit code 3.*; .*no container of this name/);
  });

  it("containers of another Service are not counted: never more ready than desired", () => {
    const h = frozenInputHealth(web, { live: [live(web.containers[0].name, 'web-running'), live('hf_driftfx_production_web_1-copy', 'web-running')], now: LATER });
    assert.deepEqual([h.readyReplicas, h.desiredReplicas], [1, 1]);
    assert.equal(h.ready.status, 'True');
  });

  it('a probe failing on the only replica: False, ProbeFailing', () => {
    const h = serviceHealth(
      [replicaHealth({ name: 'w', state: state('worker-1-running'), probe: { spec: httpProbe, record: probeRecord({ startedAt: undefined, consecutiveFailures: 5 }) } }, LATER)],
      1,
    );
    assert.equal(h.ready.reason, 'ProbeFailing');
    assert.match(h.ready.message, /^0\/1 replicas ready; w: 5 consecutive probe failures \(failureThreshold 3\)/);
  });

  it('no replicas declared, none running: True, 0/0', () => {
    assert.deepEqual(serviceHealth([], 0).ready, { status: 'True', reason: 'Available', message: '0/0 replicas ready' });
  });
});

describe('probe records: failureThreshold and successThreshold', () => {
  const T0 = new Date('2026-11-26T10:00:00Z');
  const run = (probe: { failureThreshold: number; successThreshold?: number }, outcomes: string, startedAt = RUNNING_SINCE) => {
    let record: ProbeRecord | undefined;
    const passing: boolean[] = [];
    for (const [i, o] of [...outcomes].entries()) {
      record = recordProbe(record, { ok: o === '+', detail: o === '+' ? 'answered 200' : 'connection refused' }, startedAt, new Date(T0.getTime() + i * 1000), probe);
      passing.push(record.passing);
    }
    return { record: record!, passing: passing.map((p) => (p ? 'P' : '.')).join('') };
  };
  const cases: Array<[what: string, probe: { failureThreshold: number; successThreshold?: number }, outcomes: string, passing: string]> = [
    ['one pass makes it ready (successThreshold 1 by default)', { failureThreshold: 3 }, '+', 'P'],
    ['failures below the threshold keep it ready', { failureThreshold: 3 }, '+--+--', 'PPPPPP'],
    ['the third consecutive failure of three ends it', { failureThreshold: 3 }, '+---', 'PPP.'],
    ['one pass brings it back', { failureThreshold: 3 }, '+---+', 'PPP.P'],
    ['successThreshold 2: two passes in a row to come back', { failureThreshold: 1, successThreshold: 2 }, '++-+-++', '.P....P'],
    ['failures before the first pass never make it ready', { failureThreshold: 3 }, '-----', '.....'],
  ];
  for (const [what, probe, outcomes, passing] of cases) it(what, () => assert.equal(run(probe, outcomes).passing, passing));

  it('counts consecutive results and keeps the last detail and time', () => {
    const { record } = run({ failureThreshold: 3 }, '++--');
    assert.deepEqual(record, { startedAt: RUNNING_SINCE, consecutiveFailures: 2, consecutiveSuccesses: 0, passing: true, lastDetail: 'connection refused', lastTime: '2026-11-26T10:00:03.000Z' });
  });

  it('a restarted container starts a new record', () => {
    const first = recordProbe(undefined, { ok: true, detail: 'ok' }, RUNNING_SINCE, T0, { failureThreshold: 3 });
    const next = recordProbe(first, { ok: false, detail: 'refused' }, '2026-11-26T11:00:00Z', T0, { failureThreshold: 3 });
    assert.deepEqual([next.passing, next.consecutiveFailures, next.startedAt], [false, 1, '2026-11-26T11:00:00Z']);
  });
});
