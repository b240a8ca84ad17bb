import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindInfo, type Resource } from '../../../core/resource.js';
import { diffFileName, objectDiff } from '../../../cli/object-diff.js';

const Service = kindInfo('Service')!;
const Secret = kindInfo('Secret')!;

const live: Resource = {
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', uid: 'u', resourceVersion: '7', generation: 2, creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { server: 'edge-1', source: { image: 'web:1' }, replicas: 1 },
  status: { observedGeneration: 2 },
};

test('file names as kubectl diff prints them', () => {
  assert.equal(diffFileName(live), 'holdfast.dev.v1alpha1.Service.shop.web');
  assert.equal(diffFileName({ kind: 'Server', metadata: { name: 'edge-1' } }), 'holdfast.dev.v1alpha1.Server.edge-1');
});

test('no difference: server-managed fields and key order are not differences', () => {
  const predicted = { ...live, metadata: { ...live.metadata, resourceVersion: '8' }, spec: { replicas: 1, source: { image: 'web:1' }, server: 'edge-1' }, status: {} };
  assert.equal(objectDiff(live, predicted, Service), '');
});

test('a changed field is a unified diff with LIVE and MERGED headers', () => {
  const predicted = { ...live, spec: { ...live.spec, source: { image: 'web:2' } } };
  assert.equal(
    objectDiff(live, predicted, Service),
    [
      'diff -u -N /tmp/LIVE/holdfast.dev.v1alpha1.Service.shop.web /tmp/MERGED/holdfast.dev.v1alpha1.Service.shop.web',
      '--- /tmp/LIVE/holdfast.dev.v1alpha1.Service.shop.web',
      '+++ /tmp/MERGED/holdfast.dev.v1alpha1.Service.shop.web',
      '@@ -7,4 +7,4 @@',
      '   replicas: 1',
      '   server: edge-1',
      '   source:',
      '-    image: web:1',
      '+    image: web:2',
      '',
    ].join('\n'),
  );
});

test('a new object is all additions', () => {
  const text = objectDiff(undefined, live, Service);
  assert.match(text, /^--- \/tmp\/LIVE\/holdfast\.dev\.v1alpha1\.Service\.shop\.web$/m);
  assert.match(text, /^@@ -0,0 \+1,\d+ @@$/m);
  assert.match(text, /^\+kind: Service$/m);
  assert.doesNotMatch(text, /uid|resourceVersion|status/);
});

test('write-only values: a moved generation is reported without the values', () => {
  const secret: Resource = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop', generation: 1 }, spec: { type: 'Opaque' } };
  assert.equal(objectDiff(secret, { ...secret, metadata: { ...secret.metadata, generation: 1 } }, Secret), '');
  const text = objectDiff(secret, { ...secret, metadata: { ...secret.metadata, generation: 2 } }, Secret);
  assert.match(text, /^\+# write-only values differ from the live ones \(not shown\)$/m);
});
