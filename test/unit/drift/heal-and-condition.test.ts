// The heal budget (at most 5 heals in 5 minutes per Service, each waiting twice as long as the one
// before) and the Drifted condition.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeEntries, driftCondition, healVerdict, type DriftEntry } from '../../../core/drift/index.js';

const now = new Date('2026-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

describe('healVerdict', () => {
  const cases: Array<[string, Date[], boolean, string | undefined, ('budget' | 'spacing')?]> = [
    ['no heal yet', [], true, undefined],
    ['one heal 4 s ago: the second waits 5 s after it', [ago(4)], false, '2026-01-01T12:00:01.000Z', 'spacing'],
    ['one heal 6 s ago', [ago(6)], true, undefined],
    ['two heals, the last 9 s ago: the third waits 10 s', [ago(60), ago(9)], false, '2026-01-01T12:00:01.000Z', 'spacing'],
    ['four heals, the last 30 s ago: the fifth waits 40 s', [ago(30), ago(100), ago(150), ago(200)], false, '2026-01-01T12:00:10.000Z', 'spacing'],
    ['four heals, the last 50 s ago', [ago(50), ago(100), ago(150), ago(200)], true, undefined],
    ['a heal outside the window does not count', [ago(301)], true, undefined],
    ['five in the window: the sixth waits until the oldest ages out', [ago(10), ago(20), ago(30), ago(40), ago(250)], false, '2026-01-01T12:00:50.000Z', 'budget'],
    ['six in the window: waits until two age out', [ago(5), ago(10), ago(20), ago(30), ago(40), ago(250)], false, '2026-01-01T12:04:20.000Z', 'budget'],
    ['order does not matter', [ago(250), ago(10), ago(40), ago(20), ago(30)], false, '2026-01-01T12:00:50.000Z', 'budget'],
  ];
  for (const [what, heals, allowed, retryAt, why] of cases) {
    it(what, () => {
      const verdict = healVerdict(now, heals);
      assert.equal(verdict.allowed, allowed);
      assert.equal(verdict.allowed ? undefined : verdict.retryAt.toISOString(), retryAt);
      assert.equal(verdict.allowed ? undefined : verdict.why, why);
    });
  }
  it('takes another budget', () => {
    assert.equal(healVerdict(now, [ago(1)], { maxHeals: 1, windowMs: 60_000 }).allowed, false);
    assert.deepEqual(healVerdict(now, [ago(1)], { maxHeals: 5, windowMs: 60_000, firstWaitMs: 2000 }), { allowed: false, healsInWindow: 1, retryAt: new Date(now.getTime() + 1000), why: 'spacing', waitMs: 2000 });
  });
});

describe('driftCondition', () => {
  const liveEntry: DriftEntry = { path: 'containers[hf_a_production_web_1].state.status', kind: 'changed', expected: 'running', actual: 'exited (exit code 137)', source: 'live-vs-frozen' };
  const declaredEntry: DriftEntry = { path: 'update.order', kind: 'changed', expected: 'start-first', actual: 'stop-first', source: 'declared-vs-frozen' };
  const retryAt = new Date('2026-01-01T12:05:00Z');
  const cases: Array<[string, DriftEntry[], Parameters<typeof driftCondition>[1], string, string, RegExp]> = [
    ['in sync', [], { kind: 'report' }, 'False', 'InSync', /matches the deployed input/],
    ['live drift, report', [liveEntry], { kind: 'report' }, 'True', 'LiveChanged', /1 field\(s\) on server edge differ from the deployed input: containers\[hf_a_production_web_1\]\.state\.status changed/],
    ['only a change not rolled out', [declaredEntry], { kind: 'report' }, 'True', 'NotRolledOut', /1 declared change\(s\) not rolled out: update\.order changed/],
    ['healing', [liveEntry], { kind: 'healing', deployment: 'd-1' }, 'True', 'Healing', /deployment d-1 puts it back/],
    ['backoff', [liveEntry], { kind: 'backoff', healsInWindow: 5, windowMinutes: 5, retryAt }, 'True', 'HealBackoff', /healed 5 times in the last 5 minutes, so not healing again before 2026-01-01T12:05:00.000Z/],
    [
      'waiting after a failed heal',
      [liveEntry],
      { kind: 'backoff', healsInWindow: 2, windowMinutes: 5, retryAt, wait: { seconds: 10, maxHeals: 5, lastHeal: { id: 'd-2', phase: 'failed', reason: 'CrashLoopBackOff' } } },
      'True',
      'HealBackoff',
      /the last heal \(deployment d-2\) failed \(CrashLoopBackOff\), so the next heal waits 10 s, until 2026-01-01T12:05:00.000Z \(heal 3 of at most 5 in 5 minutes/,
    ],
    ['not deployed', [], { kind: 'unknown', reason: 'NotDeployed', message: 'no deployment has completed yet' }, 'Unknown', 'NotDeployed', /no deployment/],
  ];
  for (const [what, entries, phase, status, reason, message] of cases) {
    it(what, () => {
      const c = driftCondition(entries, phase, 'edge');
      assert.equal(c.status, status);
      assert.equal(c.reason, reason);
      assert.match(c.message, message);
    });
  }
  it('names paths, never values', () => {
    const secret: DriftEntry = { path: 'containers[x].env.TOKEN', kind: 'changed', expected: { value: 'visible-value' }, actual: { value: 'other-value' }, source: 'live-vs-frozen' };
    assert.doesNotMatch(driftCondition([secret], { kind: 'report' }, 'edge').message, /visible-value|other-value/);
  });
  it('lists five paths and counts the rest', () => {
    const many = Array.from({ length: 8 }, (_, i): DriftEntry => ({ path: `containers[x].env.V${i}`, kind: 'unexpected', source: 'live-vs-frozen' }));
    assert.match(describeEntries(many), /V4 unexpected \(and 3 more\)$/);
  });
});
