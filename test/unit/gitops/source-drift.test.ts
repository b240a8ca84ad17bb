import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedFields, declarationDigest, driftAction, type SourceDriftPolicy } from '../../../core/gitops/source-drift.js';

const SOURCE = 'system:gitops:shop/platform';

describe('driftAction', () => {
  const cases: Array<{ name: string; previous?: { digest?: string }; desired: string; lastWriter?: string; policy: SourceDriftPolicy; expect: string }> = [
    { name: 'an object the source never applied is configured', desired: 'd1', lastWriter: 'user:alice', policy: 'report', expect: 'configure' },
    { name: 'a declaration the revision changed is configured', previous: { digest: 'd0' }, desired: 'd1', lastWriter: 'user:alice', policy: 'report', expect: 'configure' },
    { name: 'the same declaration, someone changed the object: heal puts it back', previous: { digest: 'd1' }, desired: 'd1', lastWriter: 'user:alice', policy: 'heal', expect: 'revert' },
    { name: 'the same declaration, someone changed the object: report leaves it', previous: { digest: 'd1' }, desired: 'd1', lastWriter: 'user:alice', policy: 'report', expect: 'report' },
    { name: 'the same declaration, no writer recorded: still drift', previous: { digest: 'd1' }, desired: 'd1', policy: 'report', expect: 'report' },
    { name: 'an entry without a digest, last written by the source: the revision changed it', previous: {}, desired: 'd1', lastWriter: SOURCE, policy: 'report', expect: 'configure' },
    { name: 'an entry without a digest, last written by someone else: drift', previous: {}, desired: 'd1', lastWriter: 'user:bob', policy: 'report', expect: 'report' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(driftAction({ previous: c.previous, desiredDigest: c.desired, lastWriter: c.lastWriter, sourceActor: SOURCE, policy: c.policy }), c.expect);
    });
  }
});

describe('changedFields', () => {
  const obj = (spec: Record<string, unknown>, labels?: Record<string, string>) => ({ spec, metadata: { name: 'web', ...(labels ? { labels } : {}) } });
  const cases = [
    { name: 'nothing differs', desired: obj({ replicas: 1 }), current: obj({ replicas: 1 }), expect: [] },
    { name: 'a changed scalar', desired: obj({ replicas: 1, image: 'a' }), current: obj({ replicas: 3, image: 'a' }), expect: ['spec.replicas'] },
    { name: 'nested fields by their path', desired: obj({ update: { order: 'start-first', autoRollback: true } }), current: obj({ update: { order: 'stop-first', autoRollback: true } }), expect: ['spec.update.order'] },
    { name: 'a list compares whole', desired: obj({ env: [{ name: 'A', value: '1' }] }), current: obj({ env: [{ name: 'A', value: '2' }] }), expect: ['spec.env'] },
    { name: 'an added field and a label', desired: obj({}), current: obj({ replicas: 2 }, { tier: 'x' }), expect: ['spec.replicas', 'metadata.labels.tier'] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(changedFields(c.desired, c.current), c.expect));
});

describe('declarationDigest', () => {
  it('ignores key order and what is not declared, and sees labels', () => {
    const a = declarationDigest({ spec: { a: 1, b: 2 }, metadata: { name: 'x', resourceVersion: '1' } });
    assert.equal(a, declarationDigest({ spec: { b: 2, a: 1 }, metadata: { name: 'x', resourceVersion: '9' } }));
    assert.notEqual(a, declarationDigest({ spec: { a: 1, b: 2 }, metadata: { name: 'x', labels: { t: 'y' } } }));
    assert.match(a, /^sha256:[0-9a-f]{64}$/);
  });
});
