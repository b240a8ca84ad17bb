import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Semaphore } from '../../../hosts/semaphore.js';

describe('Semaphore', () => {
  it('grants up to capacity at once and the rest in arrival order', async () => {
    const slots = new Semaphore(2);
    const order: string[] = [];
    const a = await slots.acquire();
    const b = await slots.acquire();
    const c = slots.acquire().then((release) => (order.push('c'), release));
    const d = slots.acquire().then((release) => (order.push('d'), release));
    assert.equal(slots.inUse, 2);
    assert.equal(slots.waiting, 2);
    a();
    const releaseC = await c;
    assert.deepEqual(order, ['c']);
    b();
    await d;
    assert.deepEqual(order, ['c', 'd']);
    releaseC();
    assert.equal(slots.inUse, 1);
  });

  it('releasing twice frees one slot only', async () => {
    const slots = new Semaphore(1);
    const release = await slots.acquire();
    release();
    release();
    assert.equal(slots.inUse, 0);
    await slots.acquire();
    assert.equal(slots.inUse, 1);
  });

  it('an aborted wait leaves the line with the signal reason', async () => {
    const slots = new Semaphore(1);
    await slots.acquire();
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error('gave up'));
    await assert.rejects(waiting, /gave up/);
    assert.equal(slots.waiting, 0);
  });

  it('rejects a capacity below one', () => {
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
