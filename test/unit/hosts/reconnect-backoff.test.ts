// Reconnect delays: full jitter over an exponentially growing ceiling, capped, reset by a success.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReconnectBackoff } from '../../../hosts/reconnect-backoff.js';

describe('ReconnectBackoff', () => {
  const policy = { baseMs: 100, capMs: 1000 };

  it('grows the ceiling 100, 200, 400, 800 then caps at 1000 (random = 1 - ε gives the ceiling)', () => {
    const backoff = new ReconnectBackoff(policy, () => 0.999999);
    const delays = Array.from({ length: 7 }, () => backoff.nextDelay());
    assert.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999]);
    assert.equal(backoff.failures, 7);
  });

  it('draws each delay uniformly below the ceiling', () => {
    const draws = [0, 0.5, 0.25, 0.75];
    const backoff = new ReconnectBackoff(policy, () => draws.shift()!);
    assert.deepEqual([backoff.nextDelay(), backoff.nextDelay(), backoff.nextDelay(), backoff.nextDelay()], [0, 100, 100, 600]);
  });

  it('starts over after reset', () => {
    const backoff = new ReconnectBackoff(policy, () => 0.5);
    backoff.nextDelay();
    backoff.nextDelay();
    backoff.nextDelay();
    backoff.reset();
    assert.equal(backoff.failures, 0);
    assert.equal(backoff.nextDelay(), 50);
  });
});
