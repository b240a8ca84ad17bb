import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDuration, parseDuration } from '../../../core/duration.js';
import { HoldfastError } from '../../../core/errors.js';

describe('one duration grammar', () => {
  const ok: Array<[string, Parameters<typeof parseDuration>[1], number]> = [
    ['250ms', {}, 250],
    ['30s', {}, 30_000],
    ['1m30s', {}, 90_000],
    ['1.5h', {}, 5_400_000],
    ['7d', {}, 604_800_000],
    ['2w', {}, 1_209_600_000],
    ['1d12h', {}, 129_600_000],
    [' 2h ', {}, 7_200_000],
    ['0s', {}, 0],
    ['10', { bareSeconds: true }, 10_000],
    ['0', { bareSeconds: true }, 0],
  ];
  for (const [text, rules, ms] of ok) it(`${JSON.stringify(text)} ${JSON.stringify(rules)} = ${ms} ms`, () => assert.equal(parseDuration(text, rules), ms));

  const bad: Array<[string, Parameters<typeof parseDuration>[1], RegExp]> = [
    ['10', {}, /invalid --timeout "10": use a number and a unit/],
    ['soon', { bareSeconds: true }, /invalid --timeout "soon"/],
    ['-1s', { bareSeconds: true }, /invalid --timeout "-1s"/],
    ['5y', {}, /invalid --timeout "5y"/],
    ['1h 30m', {}, /invalid --timeout/],
    ['', {}, /invalid --timeout ""/],
    ['0s', { positive: true }, /invalid --timeout "0s": it must be positive/],
    ['99999999999999w', {}, /invalid --timeout/],
  ];
  for (const [text, rules, message] of bad) {
    it(`refuses ${JSON.stringify(text)} ${JSON.stringify(rules)}`, () =>
      assert.throws(() => parseDuration(text, { what: '--timeout', ...rules }), (e: unknown) => e instanceof HoldfastError && e.reason === 'BadRequest' && message.test(e.message)));
  }

  it('tells a duration from a timestamp', () => {
    assert.equal(isDuration('1h'), true);
    assert.equal(isDuration('2026-01-31T12:00:00Z'), false);
  });
});
