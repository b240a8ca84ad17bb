import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullJitterDelay } from '../../../core/backoff.js';
import { MAX_DELAY_MS, WorkQueue } from '../../../controllers/work-queue.js';

function manualTimers() {
  const pending: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, ms, cancelled: false };
      pending.push(t);
      return { cancel: () => (t.cancelled = true) };
    },
    fire: () => pending.splice(0).forEach((t) => !t.cancelled && t.fn()),
  };
}

describe('full-jitter backoff', () => {
  const policy = { baseMs: 100, capMs: 1000 };
  const cases: Array<[attempt: number, random: number, expected: number]> = [
    [0, 0.999, 99],
    [0, 0, 0],
    [1, 0.5, 100],
    [3, 0.5, 400],
    [4, 0.999, 999], // capped at 1000
    [30, 0.5, 500], // far past the cap, still capped
  ];
  for (const [attempt, random, expected] of cases) {
    it(`attempt ${attempt} with random ${random} → ${expected} ms`, () => {
      assert.equal(fullJitterDelay(attempt, policy, () => random), expected);
    });
  }
});

describe('work queue', () => {
  it('schedules a delay longer than a timer can hold as the longest one it can (not at once)', () => {
    const timers = manualTimers();
    const q = new WorkQueue({ setTimer: timers.setTimer });
    const day = 24 * 3600_000;
    q.addAfter('shop/yearly', 365 * day);
    q.addAfter('shop/hourly', 3600_000);
    assert.deepEqual(timers.pending.map((t) => t.ms), [MAX_DELAY_MS, 3600_000]);
    assert.ok(MAX_DELAY_MS > 24 * day);
    q.shutdown();
  });

  it('deduplicates a burst of adds into one item', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 5; i++) q.add('shop/web');
    q.add('shop/db');
    assert.equal(q.depth, 2);
    assert.equal(await q.get(), 'shop/web');
    assert.equal(await q.get(), 'shop/db');
  });

  it('never hands out a key that is being processed; a re-add runs it again after done', async () => {
    const q = new WorkQueue();
    q.add('k');
    const k = await q.get();
    q.add('k');
    assert.equal(q.depth, 0, 'held back while processing');
    q.done(k!);
    assert.equal(q.depth, 1);
    assert.equal(await q.get(), 'k');
  });

  it('wakes a waiting worker', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('late');
    assert.equal(await waiting, 'late');
  });

  it('backs off per key with growing ceilings and forgets after success', () => {
    const timers = manualTimers();
    const q = new WorkQueue({ backoff: { baseMs: 100, capMs: 10_000 }, random: () => 0.5, setTimer: timers.setTimer });
    assert.equal(q.addRateLimited('k'), 50);
    assert.equal(q.addRateLimited('k'), 100);
    assert.equal(q.addRateLimited('k'), 200);
    assert.equal(q.failuresOf('k'), 3);
    q.forget('k');
    assert.equal(q.addRateLimited('k'), 50);
    assert.equal(q.depth, 0);
    timers.fire();
    assert.equal(q.depth, 1, 'a later delayed add replaced the earlier ones');
  });

  it('releases waiters on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutdown();
    assert.equal(await waiting, undefined);
  });
});
