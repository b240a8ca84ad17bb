// The Service's status decided from facts, for the cases that used to be reached only on a real host:
// a spec that does not render, a server to wait for, a rollout running, failed, superseded, rolled
// back, a server that cannot be read, and what runs judged by the health module.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeServiceStatus, serviceHealth, type DeploymentFacts, type ReplicaHealth, type ServiceStatusFacts } from '../../../core/health/index.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const deployment = (revision: number, phase: DeploymentFacts['phase'], extra: Partial<DeploymentFacts> = {}): DeploymentFacts => ({ id: `d${revision}`, revision, generation: revision, phase, server: 'edge', ...extra });
const replica = (ready: boolean, state: ReplicaHealth['state'] = ready ? 'Ready' : 'CrashLoopBackOff', message = `web_1: ${state}`): ReplicaHealth => ({ name: 'web_1', state, ready, reason: state, message });
const healthy = serviceHealth([replica(true)], 1, 'edge');
const looping = serviceHealth([replica(false, 'CrashLoopBackOff', 'web_1: restarted 4 times, last exit code 3')], 1, 'edge');
const base: ServiceStatusFacts = { generation: 2, previous: {}, now: NOW };
const condition = (facts: ServiceStatusFacts, type: string) => {
  const c = computeServiceStatus(facts).status.conditions?.find((x) => x.type === type);
  return c && [c.status, c.reason, c.message];
};

describe('computeServiceStatus: the Ready condition', () => {
  const cases: Array<[what: string, facts: ServiceStatusFacts, ready: [string, string, string | RegExp]]> = [
    ['the spec does not render', { ...base, invalid: 'secret db has no key password' }, ['False', 'InvalidSpec', 'secret db has no key password']],
    ['waiting for a server, nothing deployed', { ...base, waiting: { reason: 'ServerNotFound', message: 'server edge does not exist' } }, ['False', 'ServerNotFound', 'server edge does not exist']],
    ['a rollout running', { ...base, latest: deployment(2, 'deploy') }, ['False', 'Progressing', 'deployment d2 is running']],
    [
      'rolled out and every replica ready',
      { ...base, latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), observed: { replicas: 1 }, health: healthy },
      ['True', 'Available', '1/1 replicas ready on edge'],
    ],
    [
      'rolled out, then crash-looping',
      { ...base, latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), observed: { replicas: 1 }, health: looping },
      ['False', 'CrashLoopBackOff', /last exit code 3/],
    ],
    [
      'a failed rollout, the previous revision back and ready: the declared spec is not rolled out',
      { ...base, latest: deployment(2, 'failed', { message: 'step health: web_1 did not become ready' }), completed: deployment(1, 'completed'), observed: { replicas: 1 }, health: healthy },
      ['False', 'DeploymentFailed', 'step health: web_1 did not become ready'],
    ],
    [
      'a failed first rollout whose container crash-loops: the crash loop, not only "failed"',
      { ...base, latest: deployment(2, 'failed', { message: 'x' }), observed: { replicas: 1 }, health: looping },
      ['False', 'CrashLoopBackOff', /restarted 4 times/],
    ],
    [
      'a newer generation not rolled out yet',
      { ...base, generation: 3, latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), observed: { replicas: 1 }, health: healthy },
      ['False', 'NotRolledOut', 'the declared spec is not rolled out'],
    ],
    [
      'a newer generation that renders to the same input (only the drift policy changed): rolled out',
      { ...base, generation: 3, latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), inputCurrent: true, observed: { replicas: 1 }, health: healthy },
      ['True', 'Available', '1/1 replicas ready on edge'],
    ],
    [
      'the server cannot be read',
      { ...base, latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), observed: { replicas: 1 }, hostError: 'ssh: connection refused' },
      ['False', 'ServerUnavailable', 'ssh: connection refused'],
    ],
  ];
  for (const [what, facts, [status, reason, message]] of cases) {
    it(what, () => {
      const [s, r, m] = condition(facts, 'Ready')!;
      assert.deepEqual([s, r], [status, reason]);
      if (message instanceof RegExp) assert.match(String(m), message);
      else assert.equal(m, message);
    });
  }
});

describe('computeServiceStatus: the other fields', () => {
  it('counts and the current deployment come from the facts, never from the spec', () => {
    const { status } = computeServiceStatus({ ...base, latest: deployment(2, 'completed', { startedAt: 'a', finishedAt: 'b' }), completed: deployment(2, 'completed'), observed: { replicas: 2, image: 'busybox:1' }, health: serviceHealth([replica(true), replica(false, 'NotRunning')], 2) });
    assert.deepEqual([status.replicas, status.readyReplicas, status.image, status.lastSuccessfulDeployment, status.observedGeneration], [2, 1, 'busybox:1', 'd2', 2]);
    assert.deepEqual(status.currentDeployment, { name: 'd2', generation: 2, phase: 'completed', startedAt: 'a', finishedAt: 'b' });
  });
  it('a superseded deployment: Progressing False DeploymentCanceled, Degraded with its reason', () => {
    const facts = { ...base, latest: deployment(2, 'canceled', { reason: 'Superseded', message: 'superseded by deployment d3' }) };
    assert.deepEqual(condition(facts, 'Progressing'), ['False', 'DeploymentCanceled', 'superseded by deployment d3']);
    assert.deepEqual(condition(facts, 'Degraded'), ['True', 'Superseded', 'superseded by deployment d3']);
  });
  it('waiting for a server and a server that cannot be read look again in 30 s', () => {
    assert.equal(computeServiceStatus({ ...base, waiting: { reason: 'WaitingForServer', message: 'server edge is not ready' } }).requeueAfterMs, 30_000);
    assert.equal(computeServiceStatus({ ...base, completed: deployment(2, 'completed'), observed: { replicas: 1 }, hostError: 'x' }).requeueAfterMs, 30_000);
    assert.equal(computeServiceStatus({ ...base, latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), observed: { replicas: 1 }, health: healthy }).requeueAfterMs, undefined);
  });
  it('a git source that does not answer holds the new generation, and Ready still follows what runs', () => {
    const waiting = { reason: 'SourceUnreachable', message: 'cannot read ref "main" of https://git.example/app.git: git ls-remote failed: timed out after 30s', until: 'the repository answers' };
    const runs = { ...base, waiting, latest: deployment(1, 'completed'), completed: deployment(1, 'completed'), observed: { replicas: 1 } };
    assert.deepEqual(condition({ ...runs, health: healthy }, 'Progressing'), ['False', 'SourceUnreachable', `${waiting.message}; generation 2 rolls out once the repository answers`]);
    assert.equal(computeServiceStatus({ ...runs, health: healthy }).requeueAfterMs, 30_000);
    assert.deepEqual(condition({ ...runs, health: looping }, 'Ready'), ['False', 'CrashLoopBackOff', '0/1 replicas ready on edge; web_1: restarted 4 times, last exit code 3']);
    assert.deepEqual(condition({ ...runs, health: healthy }, 'Ready'), ['False', 'NotRolledOut', 'the declared spec is not rolled out']);
    assert.deepEqual(condition({ ...base, waiting: { reason: 'WaitingForServer', message: 'server edge is not ready' } }, 'Progressing'), ['False', 'WaitingForServer', 'server edge is not ready; generation 2 rolls out once the server is ready']);
  });
  it('keeps a condition\'s transition time while its status stays', () => {
    const first = computeServiceStatus({ ...base, latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), observed: { replicas: 1 }, health: healthy }).status;
    const later = computeServiceStatus({ ...base, previous: first, now: new Date(NOW.getTime() + 60_000), latest: deployment(2, 'completed'), completed: deployment(2, 'completed'), observed: { replicas: 1 }, health: healthy }).status;
    const t = (s: typeof first) => s.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime;
    assert.equal(t(later), t(first));
  });
});
