// abortable() races work against an abort signal. Work started before the race is lost must not
// leave a rejection nobody handles: in a daemon that is a crash (unhandledRejection).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortable } from '../../../hosts/ssh-session.js';

function unhandledDuring(ms: number, run: () => void): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  run();
  return new Promise((resolve) =>
    setTimeout(() => {
      process.off('unhandledRejection', onUnhandled);
      resolve(seen);
    }, ms),
  );
}

describe('abortable', () => {
  const cases: Array<{ name: string; abortBefore: boolean; outcome: 'resolve' | 'reject'; expect: 'value' | 'work error' | 'abort' }> = [
    { name: 'no abort, work resolves', abortBefore: false, outcome: 'resolve', expect: 'value' },
    { name: 'no abort, work rejects', abortBefore: false, outcome: 'reject', expect: 'work error' },
    { name: 'aborted before, work resolves later', abortBefore: true, outcome: 'resolve', expect: 'abort' },
    { name: 'aborted before, work rejects later', abortBefore: true, outcome: 'reject', expect: 'abort' },
  ];
  for (const c of cases) {
    it(`${c.name}: settles with the ${c.expect} and leaves no unhandled rejection`, async () => {
      const controller = new AbortController();
      if (c.abortBefore) controller.abort();
      let settled: Promise<unknown> | undefined;
      const unhandled = await unhandledDuring(50, () => {
        const work = new Promise((resolve, reject) =>
          setTimeout(() => (c.outcome === 'resolve' ? resolve('value') : reject(new Error('work error'))), 10),
        );
        settled = abortable(work, controller.signal, () => new Error('abort')).then(
          (value) => value,
          (err: Error) => err.message,
        );
      });
      assert.equal(await settled, c.expect);
      assert.deepEqual(unhandled, []);
    });
  }

  it('rejects with the reason as soon as the signal aborts mid-flight', async () => {
    const controller = new AbortController();
    const pending = abortable(new Promise(() => undefined), controller.signal, () => new Error('stopped'));
    controller.abort();
    await assert.rejects(pending, /stopped/);
  });
});
