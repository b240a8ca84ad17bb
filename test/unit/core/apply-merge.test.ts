import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kindInfo, type Resource } from '../../../core/resource.js';
import { isUnchanged, manifestForCreate, mergeManifestOntoLive, userOwnedView, writesNothing } from '../../../core/apply-merge.js';
import { withSchemaDefaults } from '../../../core/schema/validate.js';

const Service = kindInfo('Service')!;
const Secret = kindInfo('Secret')!;

const live: Resource = {
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u-1',
    generation: 3,
    resourceVersion: '41',
    creationTimestamp: '2024-01-01T00:00:00Z',
    finalizers: ['holdfast.dev/containers'],
    labels: { app: 'web' },
    annotations: { note: 'x' },
  },
  spec: { environment: 'production', server: 'edge-1', source: { image: 'web:1' }, replicas: 1 },
  status: { observedGeneration: 3, conditions: [] },
};

const manifest = (over: Partial<Resource['metadata']> = {}, spec: Record<string, unknown> = { ...live.spec }): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' }, annotations: { note: 'x' }, ...over },
  spec,
});

describe('mergeManifestOntoLive', () => {
  test('manifest spec, labels and annotations replace; server-owned metadata and status stay', () => {
    const merged = mergeManifestOntoLive(live, manifest({ labels: { app: 'web', tier: 'front' }, annotations: undefined }, { server: 'edge-2' }), Service);
    assert.deepEqual(merged.spec, { server: 'edge-2' });
    assert.deepEqual(merged.metadata, {
      name: 'web',
      namespace: 'shop',
      uid: 'u-1',
      generation: 3,
      resourceVersion: '41',
      creationTimestamp: '2024-01-01T00:00:00Z',
      finalizers: ['holdfast.dev/containers'],
      labels: { app: 'web', tier: 'front' },
    });
    assert.deepEqual(merged.status, live.status);
  });

  test('server-owned fields written into a manifest (from get -o yaml) are ignored', () => {
    const fromGet = { ...manifest({ uid: 'other', resourceVersion: '1', generation: 9 }), status: { observedGeneration: 1 } };
    const merged = mergeManifestOntoLive(live, fromGet, Service);
    assert.equal(merged.metadata.uid, 'u-1');
    assert.equal(merged.metadata.resourceVersion, '41');
    assert.deepEqual(merged.status, live.status);
  });

  test('does not modify its inputs', () => {
    const before = structuredClone(live);
    mergeManifestOntoLive(live, manifest({ labels: {} }, {}), Service);
    assert.deepEqual(live, before);
  });
});

describe('manifestForCreate keeps identity and user-owned fields only', () => {
  test('strips status and server metadata', () => {
    const body = manifestForCreate({ ...manifest({ uid: 'x', resourceVersion: '3' }), status: { observedGeneration: 2 } }, Service);
    assert.deepEqual(body, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' }, annotations: { note: 'x' } },
      spec: live.spec,
    });
  });
});

describe('isUnchanged', () => {
  const cases: Array<[string, Resource, boolean]> = [
    ['identical manifest', manifest(), true],
    ['spec key order differs', manifest({}, { replicas: 1, source: { image: 'web:1' }, server: 'edge-1', environment: 'production' }), true],
    ['image changed', manifest({}, { ...live.spec, source: { image: 'web:2' } }), false],
    ['label added', manifest({ labels: { app: 'web', tier: 'x' } }), false],
    ['annotations removed', manifest({ annotations: undefined }), false],
    ['a field removed from spec', manifest({}, { environment: 'production', server: 'edge-1', source: { image: 'web:1' } }), false],
  ];
  for (const [name, m, expected] of cases) {
    test(name, () => assert.equal(isUnchanged(live, mergeManifestOntoLive(live, m, Service), Service), expected));
  }

  test('a manifest that leaves out what the stored object has by default is unchanged once defaults are filled in', () => {
    const stored = withSchemaDefaults(live);
    assert.notDeepEqual(stored.spec, live.spec, 'the schema has defaults this Service leaves out');
    assert.equal(isUnchanged(stored, mergeManifestOntoLive(stored, manifest(), Service), Service), false);
    assert.equal(isUnchanged(stored, withSchemaDefaults(mergeManifestOntoLive(stored, manifest(), Service)), Service), true);
    const spelledOut = manifest({}, { ...live.spec, restartPolicy: (stored.spec as { restartPolicy: string }).restartPolicy });
    assert.equal(isUnchanged(stored, withSchemaDefaults(mergeManifestOntoLive(stored, spelledOut, Service)), Service), true);
    const otherValue = manifest({}, { ...live.spec, restartPolicy: 'no' });
    assert.equal(isUnchanged(stored, withSchemaDefaults(mergeManifestOntoLive(stored, otherValue, Service)), Service), false);
  });

  test('empty labels equal absent labels', () => {
    const bare = { ...live, metadata: { ...live.metadata, labels: undefined, annotations: undefined } };
    assert.equal(isUnchanged(bare, mergeManifestOntoLive(bare, manifest({ labels: {}, annotations: {} }), Service), Service), true);
  });

  test('write-only kinds are never judged unchanged without the server', () => {
    const secret: Resource = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop', generation: 1 }, spec: {} };
    assert.equal(isUnchanged(secret, mergeManifestOntoLive(secret, { ...secret, spec: { stringData: { a: 'b' } } }, Secret), Secret), false);
  });
});

describe('writesNothing', () => {
  test('server-managed fields are not a change', () => {
    const admitted = { ...live, metadata: { ...live.metadata, resourceVersion: '42' }, status: undefined };
    assert.equal(writesNothing(live, admitted, Service), true);
  });
  test('a spec or label the write changes is', () => {
    assert.equal(writesNothing(live, { ...live, spec: { ...live.spec, replicas: 2 } }, Service), false);
    assert.equal(writesNothing(live, { ...live, metadata: { ...live.metadata, labels: { app: 'api' } } }, Service), false);
  });
  test('write-only kinds: the hashes of the values tell', () => {
    const secret: Resource = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop', generation: 2 }, spec: { valueHashes: { password: 'h1' } } };
    assert.equal(writesNothing(secret, { ...secret, spec: { valueHashes: { password: 'h1' } } }, Secret), true);
    assert.equal(writesNothing(secret, { ...secret, spec: { valueHashes: { password: 'h2' } } }, Secret), false);
    assert.equal(writesNothing(secret, { ...secret, metadata: { ...secret.metadata, labels: { a: 'b' } } }, Secret), false);
  });
});

test('userOwnedView drops server-managed fields and empty maps', () => {
  assert.deepEqual(userOwnedView({ ...live, metadata: { ...live.metadata, annotations: {} } }, Service), {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: live.spec,
  });
});
