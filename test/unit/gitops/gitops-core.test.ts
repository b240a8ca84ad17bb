import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pruneCandidates, pruneDisabled, sortInventory, type InventoryEntry } from '../../../core/gitops/inventory.js';
import { commitOf, lsRemotePatterns, parseLsRemote, resolveRevision, type GitRef } from '../../../core/gitops/revision.js';
import { HISTORY_LIMIT, statusAfterSync, statusHealthCheckPending, syncRequestAnnotations, syncTrigger, type SyncRecord } from '../../../core/gitops/sync-status.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const D = 'd'.repeat(40);
const LS_REMOTE = [
  `${A}\trefs/heads/main`,
  `${B}\trefs/tags/v1.2.0`,
  `${C}\trefs/tags/v1.2.0^{}`,
  `${D}\trefs/tags/v1.10.1`,
  `${A}\trefs/tags/v2.0.0`,
  `${B}\trefs/tags/not-a-version`,
].join('\n');

describe('resolveRevision: the commit a ref names in ls-remote output', () => {
  const refs = parseLsRemote(LS_REMOTE);
  const table: Array<[string, GitRef, string]> = [
    ['a branch head', { branch: 'main' }, `main@sha1:${A}`],
    ['an annotated tag: the commit it points at, not the tag object', { tag: 'v1.2.0' }, `v1.2.0@sha1:${C}`],
    ['a lightweight tag', { tag: 'v1.10.1' }, `v1.10.1@sha1:${D}`],
    ['the highest tag in a semver range (numerically: 1.10 > 1.2)', { semver: '>=1.0.0 <2.0.0' }, `v1.10.1@sha1:${D}`],
    ['a caret range', { semver: '^2' }, `v2.0.0@sha1:${A}`],
    ['a pinned commit, without asking the remote', { commit: B }, `sha1:${B}`],
  ];
  for (const [name, ref, revision] of table) {
    test(name, () => {
      const r = resolveRevision(ref, refs);
      assert.ok(!('error' in r), JSON.stringify(r));
      assert.equal(r.revision, revision);
      assert.equal(r.commit, commitOf(revision));
    });
  }
  const errors: Array<[GitRef, RegExp]> = [
    [{ branch: 'dev' }, /branch "dev" not found/],
    [{ tag: 'v9' }, /tag "v9" not found/],
    [{ semver: '>=3.0.0' }, /no tag satisfies the semver range ">=3.0.0"/],
    [{ semver: 'latest please' }, /is not a semver range/],
  ];
  for (const [ref, message] of errors) test(`refuses ${JSON.stringify(ref)}`, () => assert.match((resolveRevision(ref, refs) as { error: string }).error, message));

  test('asks ls-remote only for what the ref needs', () => {
    assert.deepEqual(lsRemotePatterns({ branch: 'main' }), ['refs/heads/main']);
    assert.deepEqual(lsRemotePatterns({ tag: 'v1' }), ['refs/tags/v1', 'refs/tags/v1^{}']);
    assert.deepEqual(lsRemotePatterns({ semver: '^1' }), ['refs/tags/*']);
    assert.deepEqual(lsRemotePatterns({ commit: A }), []);
  });
});

describe('inventory', () => {
  const e = (kind: string, name: string, namespace?: string): InventoryEntry => ({ kind, name, ...(namespace ? { namespace } : {}) });
  test('prunes what the previous inventory has and the next lacks, dependents first', () => {
    const previous = [e('Project', 'shop'), e('Secret', 'db', 'shop'), e('Service', 'web', 'shop'), e('Service', 'api', 'shop'), e('BackupPolicy', 'nightly', 'shop')];
    const next = [e('Project', 'shop'), e('Service', 'api', 'shop')];
    assert.deepEqual(pruneCandidates(previous, next).map((x) => `${x.kind}/${x.name}`), ['BackupPolicy/nightly', 'Service/web', 'Secret/db']);
  });
  test('the same name in another namespace or kind is another object', () => {
    assert.deepEqual(pruneCandidates([e('Service', 'web', 'a')], [e('Service', 'web', 'b')]).length, 1);
    assert.deepEqual(pruneCandidates([e('Secret', 'web', 'a')], [e('Service', 'web', 'a')]).length, 1);
    assert.deepEqual(pruneCandidates([e('Service', 'web', 'a')], [e('Service', 'web', 'a')]), []);
  });
  test('is kept in apply order, then namespace and name', () => {
    assert.deepEqual(sortInventory([e('Service', 'b', 'x'), e('Service', 'a', 'x'), e('Project', 'x')]).map((x) => x.name), ['x', 'a', 'b']);
  });
  test('holdfast.dev/prune: disabled keeps an object', () => {
    assert.equal(pruneDisabled({ 'holdfast.dev/prune': 'disabled' }), true);
    assert.equal(pruneDisabled({ 'holdfast.dev/prune': 'enabled' }), false);
    assert.equal(pruneDisabled(undefined), false);
  });
});

describe('sync status', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const record = (over: Partial<SyncRecord> = {}): SyncRecord => ({ trigger: 'interval', revision: `main@sha1:${A}`, startTime: now.toISOString(), result: 'Applied', ...over });
  const cond = (status: any, type: string) => status.conditions.find((c: { type: string }) => c.type === type);

  test('a success is Ready, not Reconciling, not Stalled, and moves the applied revision', () => {
    const s = statusAfterSync(undefined, { record: record(), generation: 3, inventory: [] }, now);
    assert.deepEqual([cond(s, 'Ready').status, cond(s, 'Reconciling').status, cond(s, 'Stalled').status], ['True', 'False', 'False']);
    assert.equal(s.lastAppliedRevision, `main@sha1:${A}`);
    assert.equal(s.observedGeneration, 3);
  });
  test('an invalid revision stalls; the applied revision stays', () => {
    const prev = statusAfterSync(undefined, { record: record(), generation: 1, inventory: [] }, now);
    const s = statusAfterSync(prev, { record: record({ revision: `main@sha1:${B}`, result: 'Failed' }), generation: 1, failure: { reason: 'ValidationFailed', message: 'a.yaml: document 1: spec.x: bad', stalled: true } }, now);
    assert.deepEqual([cond(s, 'Ready').status, cond(s, 'Ready').reason, cond(s, 'Stalled').status], ['False', 'ValidationFailed', 'True']);
    assert.equal(s.lastAppliedRevision, `main@sha1:${A}`);
    assert.equal(s.lastAttemptedRevision, `main@sha1:${B}`);
  });
  test('a revision waiting on its health gate is attempted with its inventory, Reconciling, and not yet applied', () => {
    const prev = statusAfterSync(undefined, { record: record(), generation: 1, inventory: [] }, now);
    const inventory = [{ kind: 'Service', namespace: 'shop', name: 'web', revision: `main@sha1:${B}` }];
    const s = statusHealthCheckPending(prev, { revision: `main@sha1:${B}`, services: 1, timeoutMs: 300_000, inventory }, 1, now);
    assert.deepEqual([cond(s, 'Reconciling').status, cond(s, 'Reconciling').reason, cond(s, 'Ready').status], ['True', 'HealthCheckPending', 'True']);
    assert.equal(cond(s, 'Reconciling').message, `revision main@sha1:${B} applied; waiting up to 300s for the 1 Service(s) it changed to be Ready`);
    assert.equal(s.lastAppliedRevision, `main@sha1:${A}`);
    assert.equal(s.lastAttemptedRevision, `main@sha1:${B}`);
    assert.deepEqual(s.inventory, inventory);
    assert.deepEqual(s.history, prev.history, 'the sync is recorded when the gate ends');
  });
  test('a transient failure is Reconciling with retry, not Stalled', () => {
    const s = statusAfterSync(undefined, { record: record({ result: 'Failed' }), generation: 1, failure: { reason: 'GitOperationFailed', message: 'git fetch failed', stalled: false } }, now);
    assert.deepEqual([cond(s, 'Reconciling').status, cond(s, 'Reconciling').reason, cond(s, 'Stalled').status], ['True', 'ProgressingWithRetry', 'False']);
  });
  test('history keeps the last syncs, newest first; an idle poll adds none', () => {
    let s = statusAfterSync(undefined, { record: record({ commitMessage: 'first' }), generation: 1, inventory: [] }, now);
    s = statusAfterSync(s, { record: record({ result: 'Unchanged' }), generation: 1, inventory: [] }, now);
    assert.equal(s.history!.length, 1);
    s = statusAfterSync(s, { record: record({ result: 'Unchanged', trigger: 'manual' }), generation: 1, inventory: [] }, now);
    assert.equal(s.history!.length, 2);
    for (let i = 0; i < 20; i++) s = statusAfterSync(s, { record: record({ commitMessage: `c${i}` }), generation: 1, inventory: [] }, now);
    assert.equal(s.history!.length, HISTORY_LIMIT);
    assert.equal(s.history![0].commitMessage, 'c19');
  });
  test('what starts a sync', () => {
    const stalled = statusAfterSync(undefined, { record: record({ result: 'Failed' }), generation: 2, failure: { reason: 'ValidationFailed', message: 'x', stalled: true } }, now);
    const rev = `main@sha1:${A}`;
    assert.equal(syncTrigger({ pending: 'webhook', status: stalled, generation: 2, revision: rev }), 'webhook');
    assert.equal(syncTrigger({ requestedAt: 't1', status: stalled, generation: 2, revision: rev }), 'manual');
    assert.equal(syncTrigger({ requestedAt: 't1', status: { ...stalled, lastHandledReconcileAt: 't1' }, generation: 2, revision: rev }), undefined, 'an answered request and the same stalled revision: nothing to do');
    assert.equal(syncTrigger({ status: stalled, generation: 3, revision: rev }), 'change');
    const heard = syncRequestAnnotations('webhook', new Date('2026-01-01T00:00:05Z'));
    assert.deepEqual(heard, { 'holdfast.dev/reconcile-requested-at': '2026-01-01T00:00:05.000Z', 'holdfast.dev/reconcile-requested-by': 'webhook@2026-01-01T00:00:05.000Z' });
    const requestedAt = heard['holdfast.dev/reconcile-requested-at'];
    assert.equal(syncTrigger({ requestedAt, requestedBy: heard['holdfast.dev/reconcile-requested-by'], status: stalled, generation: 2, revision: rev }), 'webhook', 'a webhook heard by another replica');
    assert.equal(syncTrigger({ requestedAt: 't2', requestedBy: heard['holdfast.dev/reconcile-requested-by'], status: stalled, generation: 2, revision: rev }), 'manual', 'holdfast reconcile after that webhook');
    assert.equal(syncTrigger({ status: stalled, generation: 2, revision: `main@sha1:${B}` }), 'interval', 'a new commit is tried');
  });
});
