import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailedAuthLimiter } from '../../../security/failed-auth-limiter.js';

describe('FailedAuthLimiter', () => {
  it('allows maxFailures per window, then asks the client to wait until the oldest failure expires', () => {
    let now = 1_000_000;
    const limiter = new FailedAuthLimiter({ maxFailures: 3, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfterMs('10.0.0.1'), 0);
      limiter.recordFailure('10.0.0.1');
      now += 1000;
    }
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 57_000);
    assert.equal(limiter.retryAfterMs('10.0.0.2'), 0, 'other clients are not affected');
    now += 57_000;
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 0, 'the oldest failure left the window');
    limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 1000);
  });

  it('tracks a bounded number of clients, dropping the stalest', () => {
    const now = 0;
    const limiter = new FailedAuthLimiter({ maxFailures: 1, windowMs: 60_000, maxClients: 2 }, () => now);
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    limiter.recordFailure('c');
    assert.equal(limiter.retryAfterMs('a'), 0, 'a was dropped');
    assert.ok(limiter.retryAfterMs('b') > 0);
    assert.ok(limiter.retryAfterMs('c') > 0);
  });

  it('refuses nonsensical limits', () => {
    assert.throws(() => new FailedAuthLimiter({ maxFailures: 0, windowMs: 1000 }));
  });
});
