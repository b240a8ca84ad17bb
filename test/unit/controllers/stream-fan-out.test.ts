// One stream into several: every live branch gets every byte, a slow branch holds the source back,
// and a branch that fails midway is dropped while the others go on to the end.
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { fanOut } from '../../../controllers/backups/stream-fan-out.js';

const chunks = Array.from({ length: 200 }, (_, i) => Buffer.alloc(16 * 1024, i % 251));
const total = chunks.reduce((n, c) => n + c.length, 0);

/** Counts what it receives; `failAfter` bytes makes it fail; `slow` acknowledges each chunk a tick late. */
function sink(opts: { failAfter?: number; slow?: boolean } = {}) {
  let bytes = 0;
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (opts.failAfter !== undefined && bytes > opts.failAfter) return done(new Error('destination gone'));
      if (opts.slow) setImmediate(done);
      else done();
    },
  });
  return { stream, bytes: () => bytes };
}

describe('fanOut', () => {
  it('copies every byte to every branch, at the pace of the slowest', async () => {
    const [a, b] = fanOut(Readable.from(chunks), 2);
    const fast = sink();
    const slow = sink({ slow: true });
    await Promise.all([pipeline(a, fast.stream), pipeline(b, slow.stream)]);
    assert.equal(fast.bytes(), total);
    assert.equal(slow.bytes(), total);
  });

  it('drops a branch whose destination fails and finishes the others', async () => {
    const [a, b, c] = fanOut(Readable.from(chunks), 3);
    const ok1 = sink({ slow: true });
    const broken = sink({ failAfter: 100 * 1024 });
    const ok2 = sink();
    const results = await Promise.allSettled([pipeline(a, ok1.stream), pipeline(b, broken.stream), pipeline(c, ok2.stream)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(ok1.bytes(), total);
    assert.equal(ok2.bytes(), total);
    assert.ok(broken.bytes() < total);
  });

  it('stops the source when every branch is gone', async () => {
    const source = Readable.from(chunks);
    const [a, b] = fanOut(source, 2);
    const results = await Promise.allSettled([pipeline(a, sink({ failAfter: 0 }).stream), pipeline(b, sink({ failAfter: 32 * 1024 }).stream)]);
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(source.destroyed, true);
  });

  it('passes the source failure to every branch', async () => {
    const source = new Readable({ read() {} });
    const [a, b] = fanOut(source, 2);
    source.push(Buffer.from('partial'));
    setImmediate(() => source.destroy(new Error('read failed')));
    const results = await Promise.allSettled([pipeline(a, sink().stream), pipeline(b, sink().stream)]);
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')),
      ['read failed', 'read failed'],
    );
  });
});
