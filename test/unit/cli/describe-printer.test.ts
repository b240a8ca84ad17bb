import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindInfo, type Resource } from '../../../core/resource.js';
import { describeObject, titleCase } from '../../../cli/describe-printer.js';

test('field names become kubectl-style titles', () => {
  const table: Array<[string, string]> = [
    ['creationTimestamp', 'Creation Timestamp'],
    ['apiVersion', 'API Version'],
    ['uid', 'UID'],
    ['sshKeyRef', 'SSH Key Ref'],
    ['hostKeyFingerprint', 'Host Key Fingerprint'],
    ['observedGeneration', 'Observed Generation'],
    ['env', 'Env'],
  ];
  for (const [key, title] of table) assert.equal(titleCase(key), title);
});

test('a service described as kubectl describes a custom resource', () => {
  const now = new Date('2024-01-01T01:00:00Z');
  const object: Resource = {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: 'u-1', generation: 2, resourceVersion: '9', creationTimestamp: '2024-01-01T00:00:00Z', labels: { app: 'web', tier: 'front' } },
    spec: { server: 'edge-1', source: { image: 'web:1' }, command: ['httpd', '-f'], env: [{ name: 'A', value: 'b' }] },
    status: {
      observedGeneration: 2,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Healthy', message: '1/1 ready', lastTransitionTime: '2024-01-01T00:55:00Z' }],
    },
  };
  const events: Resource[] = [
    { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Event', metadata: { name: 'e1' }, type: 'Normal', reason: 'Deployed', message: 'deployment 3 completed', source: { component: 'service-controller' }, count: 2, firstTimestamp: '2024-01-01T00:30:00Z', lastTimestamp: '2024-01-01T00:59:00Z' },
  ];
  assert.equal(
    describeObject({ object, kind: kindInfo('Service')!, events, now }),
    [
      'Name:         web',
      'Namespace:    shop',
      'Labels:       app=web',
      '              tier=front',
      'Annotations:  <none>',
      'API Version:  holdfast.dev/v1alpha1',
      'Kind:         Service',
      'Metadata:',
      '  Creation Timestamp:  2024-01-01T00:00:00Z',
      '  Generation:          2',
      '  Resource Version:    9',
      '  UID:                 u-1',
      'Spec:',
      '  Command:',
      '    httpd',
      '    -f',
      '  Env:',
      '    Name:   A',
      '    Value:  b',
      '  Server:  edge-1',
      '  Source:',
      '    Image:  web:1',
      'Status:',
      '  Conditions:',
      '    Type    Status   Reason    Age   Message',
      '    ----    ------   ------    ---   -------',
      '    Ready   True     Healthy   5m    1/1 ready',
      '  Observed Generation:  2',
      'Events:',
      '  Type     Reason     Age                 From                 Message',
      '  ----     ------     ----                ----                 -------',
      '  Normal   Deployed   60s (x2 over 30m)   service-controller   deployment 3 completed',
      '',
    ].join('\n'),
  );
});

test('secrets show key names, never values; no events reads <none>', () => {
  const text = describeObject({
    object: { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, spec: { type: 'Opaque', stringData: { password: 'hunter2' } }, status: { keys: ['password'] } },
    kind: kindInfo('Secret')!,
    events: [],
    now: new Date(),
  });
  assert.doesNotMatch(text, /hunter2/);
  assert.match(text, /^Data:\n  password$/m);
  assert.match(text, /^Events:  <none>$/m);
});
