import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HoldfastError } from '../../../core/errors.js';
import { parsePositiveDuration, parseSince } from '../../../core/duration.js';

describe('parsePositiveDuration', () => {
  const ok: Array<[string, number]> = [
    ['90s', 90_000], ['15m', 900_000], ['12h', 43_200_000], ['30d', 2_592_000_000], ['2w', 1_209_600_000], ['1h30m', 5_400_000], ['1.5h', 5_400_000],
  ];
  for (const [text, ms] of ok) it(`${text} = ${ms} ms`, () => assert.equal(parsePositiveDuration(text), ms));
  for (const bad of ['', '30', 'd', '-1h', '0s', '0', 'soon', '1h 30m']) {
    it(`rejects "${bad}"`, () => assert.throws(() => parsePositiveDuration(bad, 'expiresIn'), (e: unknown) => e instanceof HoldfastError && /expiresIn/.test(e.message)));
  }
});

describe('parseSince', () => {
  const now = new Date('2026-01-31T12:00:00Z');
  it('takes a duration ago', () => assert.equal(parseSince('1h', now).toISOString(), '2026-01-31T11:00:00.000Z'));
  it('takes an RFC 3339 time', () => assert.equal(parseSince('2026-01-30T00:00:00Z', now).toISOString(), '2026-01-30T00:00:00.000Z'));
  it('rejects anything else', () => assert.throws(() => parseSince('yesterday', now), /invalid since "yesterday"/));
});
