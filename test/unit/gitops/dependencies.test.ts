import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dependencyWait, sourceFacts, type SourceFacts } from '../../../core/gitops/dependencies.js';
import type { GitRepository } from '../../../core/schema/types.generated.js';

const T = '2026-01-01T00:00:00Z';
const REV = 'main@sha1:' + 'a'.repeat(40);
const cond = (type: string, status: 'True' | 'False', reason: string, message = '') => ({ type, status, reason, message, lastTransitionTime: T });
const repo = (status: GitRepository['status'], spec: Partial<NonNullable<GitRepository['spec']>> = {}, generation = 2): GitRepository =>
  ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'GitRepository', metadata: { name: 'infra', namespace: 'shop', generation }, spec: { url: '/srv/infra.git', ...spec }, status }) as GitRepository;
const synced = { observedGeneration: 2, lastAppliedRevision: REV, lastAttemptedRevision: REV, conditions: [cond('Ready', 'True', 'Succeeded'), cond('Reconciling', 'False', 'Succeeded')] };

test('a source is ready as a dependency only when Ready at the revision it last looked at', () => {
  const table: Array<[string, GitRepository, boolean, RegExp?]> = [
    ['synced and Ready', repo(synced), true],
    ['never synced', repo(undefined), false, /newest spec is not synced yet/],
    ['a newer spec not synced yet', repo(synced, {}, 3), false, /newest spec is not synced yet/],
    ['syncing a revision', repo({ ...synced, conditions: [cond('Ready', 'True', 'Succeeded'), cond('Reconciling', 'True', 'Progressing', 'applying revision main@sha1:b')] }), false, /syncing \(applying revision/],
    ['its last revision failed', repo({ ...synced, lastAttemptedRevision: 'main@sha1:' + 'b'.repeat(40), conditions: [cond('Ready', 'False', 'ValidationFailed', 'apps/web.yaml: bad'), cond('Reconciling', 'False', 'ValidationFailed')] }), false, /not Ready \(ValidationFailed: apps\/web.yaml: bad\)/],
    ['suspended', repo(synced, { suspend: true }), false, /suspended/],
    ['itself waiting for its dependencies', repo({ ...synced, conditions: [cond('Ready', 'False', 'DependencyNotReady', 'waiting for x'), cond('Reconciling', 'True', 'WaitingForDependencies')] }), false, /syncing|not Ready/],
  ];
  for (const [name, r, ready, why] of table) {
    const facts = sourceFacts(r);
    assert.equal(facts.ready, ready, name);
    if (why) assert.match(facts.why, why, name);
  }
  assert.deepEqual(sourceFacts(repo(synced, { dependsOn: [{ name: 'base' }, { name: 'net', namespace: 'ops' }] })).dependsOn, ['shop/base', 'ops/net']);
});

test('a source waits for missing or unready dependencies and stalls on a cycle', () => {
  const f = (dependsOn: string[], ready = true, why = ''): SourceFacts => ({ dependsOn, ready, why });
  const table: Array<[string, Record<string, SourceFacts>, ReturnType<typeof dependencyWait>]> = [
    ['no dependencies', { 's/app': f([]) }, { state: 'ready' }],
    ['every dependency ready', { 's/app': f(['s/infra', 'o/net']), 's/infra': f([]), 'o/net': f([]) }, { state: 'ready' }],
    ['a dependency missing and one not ready', { 's/app': f(['s/infra', 's/db']), 's/db': f([], false, 'it has not synced yet') }, { state: 'waiting', message: 'waiting for dependencies: GitRepository "s/infra" does not exist; GitRepository "s/db" is not ready: it has not synced yet' }],
    ['a cycle through two others', { 's/app': f(['s/a']), 's/a': f(['s/b']), 's/b': f(['s/app']) }, { state: 'cycle', message: 'dependsOn forms a cycle: s/app -> s/a -> s/b -> s/app; remove one of its links' }],
    ['a cycle elsewhere is not this source\'s', { 's/app': f(['s/a']), 's/a': f(['s/b'], false, 'stalled'), 's/b': f(['s/a'], false, 'stalled') }, { state: 'waiting', message: 'waiting for dependencies: GitRepository "s/a" is not ready: stalled' }],
    ['depending on itself', { 's/app': f(['s/app']) }, { state: 'cycle', message: 'dependsOn forms a cycle: s/app -> s/app; remove one of its links' }],
  ];
  for (const [name, sources, expected] of table) assert.deepEqual(dependencyWait('s/app', new Map(Object.entries(sources))), expected, name);
});
