// `apply --wait` on many Services of one project: their waits' Service reads share one list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sharedServiceReads } from '../../../cli/apply-wait.js';
import { ApiError } from '../../../cli/client.js';
import type { RolloutReader } from '../../../cli/rollout-wait.js';
import type { Resource } from '../../../core/resource.js';

const svc = (namespace: string, name: string, generation = 1): Resource => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name, namespace, generation } });

function setup(opts: { failFirst?: boolean } = {}) {
  let clock = 0;
  const lists: string[] = [];
  const gets: string[] = [];
  let generation = 1;
  const base: RolloutReader = {
    service: async (namespace, name) => {
      gets.push(`${namespace}/${name}`);
      return svc(namespace, name);
    },
    deployment: async () => assert.fail('not read here'),
    history: async () => [],
    logs: async () => [],
  };
  const reader = sharedServiceReads(base, new Set(['shop']), async (namespace) => {
    lists.push(namespace);
    if (opts.failFirst && lists.length === 1) throw new Error('connection reset');
    return ['a', 'b', 'c'].map((n) => svc(namespace, n, generation));
  }, () => clock);
  return { reader, lists, gets, tick: (ms: number) => (clock += ms), bump: () => generation++ };
}

describe('sharedServiceReads', () => {
  it('answers the reads of one project within the window from one list', async () => {
    const { reader, lists, gets } = setup();
    const read = await Promise.all(['a', 'b', 'c', 'a'].map((n) => reader.service('shop', n)));
    assert.deepEqual(read.map((s) => s.metadata.name), ['a', 'b', 'c', 'a']);
    assert.deepEqual(lists, ['shop']);
    assert.deepEqual(gets, []);
  });

  it('lists again once the list is older than the window, and sees what changed', async () => {
    const { reader, lists, tick, bump } = setup();
    assert.equal((await reader.service('shop', 'a')).metadata.generation, 1);
    bump();
    tick(400);
    assert.equal((await reader.service('shop', 'a')).metadata.generation, 1, 'still the first list');
    tick(200);
    assert.equal((await reader.service('shop', 'a')).metadata.generation, 2);
    assert.equal(lists.length, 2);
  });

  it('answers 404 for a Service the list does not hold, as its GET would', async () => {
    const { reader } = setup();
    await assert.rejects(reader.service('shop', 'gone'), (err: unknown) => err instanceof ApiError && err.httpStatus === 404);
  });

  it('reads other projects one Service at a time', async () => {
    const { reader, lists, gets } = setup();
    await reader.service('blog', 'web');
    assert.deepEqual(gets, ['blog/web']);
    assert.deepEqual(lists, []);
  });

  it('does not keep a failed list: the next read asks again', async () => {
    const { reader, lists } = setup({ failFirst: true });
    await assert.rejects(reader.service('shop', 'a'), /connection reset/);
    assert.equal((await reader.service('shop', 'a')).metadata.name, 'a');
    assert.equal(lists.length, 2);
  });
});
