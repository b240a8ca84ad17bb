// How apply sends objects: one wave per kind in dependency order, up to a limit of requests in
// flight within a wave, results reported in manifest order as soon as they can be.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachConcurrently, wavesByKind } from '../../../cli/commands/apply.js';
import type { ManifestObject } from '../../../cli/manifests.js';

const m = (kind: string, name: string) => ({ kind: { kind }, object: { metadata: { name } } }) as unknown as ManifestObject;
const names = (waves: ManifestObject[][]) => waves.map((w) => w.map((x) => `${x.kind.kind}/${x.object.metadata.name}`));

describe('wavesByKind', () => {
  const cases: Array<[string, ManifestObject[], string[][]]> = [
    ['nothing', [], []],
    ['one kind', [m('Service', 'a'), m('Service', 'b')], [['Service/a', 'Service/b']]],
    ['kinds in order', [m('Project', 'p'), m('Server', 's'), m('Service', 'a'), m('Service', 'b')], [['Project/p'], ['Server/s'], ['Service/a', 'Service/b']]],
  ];
  for (const [what, input, expected] of cases) it(what, () => assert.deepEqual(names(wavesByKind(input)), expected));
});

describe('forEachConcurrently', () => {
  const delays = [30, 5, 20, 1, 10, 2];

  it('keeps at most `limit` in flight and reports in order', async () => {
    let inFlight = 0;
    let peak = 0;
    const reported: number[] = [];
    await forEachConcurrently(
      delays.map((d, i) => ({ d, i })),
      3,
      async ({ d, i }) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((ok) => setTimeout(ok, d));
        inFlight--;
        return i * 10;
      },
      ({ i }, result) => {
        assert.ok(result.ok);
        assert.equal(result.value, i * 10);
        reported.push(i);
      },
    );
    assert.equal(peak, 3);
    assert.deepEqual(reported, [0, 1, 2, 3, 4, 5]);
  });

  it('hands failures to the report in their place', async () => {
    const seen: string[] = [];
    await forEachConcurrently([1, 2, 3], 2, async (n) => {
      if (n === 2) throw new Error('two failed');
      return n;
    }, (n, result) => seen.push(result.ok ? `${n} ok` : `${n} ${(result.error as Error).message}`));
    assert.deepEqual(seen, ['1 ok', '2 two failed', '3 ok']);
  });

  it('stops starting work when the report throws, and throws that', async () => {
    const started: number[] = [];
    const items = Array.from({ length: 20 }, (_, i) => i);
    await assert.rejects(
      forEachConcurrently(items, 2, async (n) => {
        started.push(n);
        await new Promise((ok) => setTimeout(ok, 2));
        return n;
      }, (n) => {
        if (n === 3) throw new Error('unauthorised');
      }),
      /unauthorised/,
    );
    assert.ok(started.length < 10, `started ${started.length} of 20`);
  });
});
