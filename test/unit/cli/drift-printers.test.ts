import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DriftEntry } from '../../../cli/deployments-api.js';
import { driftedServices, driftedServicesTable, driftEntriesTable, driftValue, liveDiff, sortDrift } from '../../../cli/drift-printers.js';
import type { Resource } from '../../../core/resource.js';

const NOW = new Date('2025-03-01T12:00:00Z');

const service = (namespace: string, name: string, drift?: Record<string, unknown>, mode?: string): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: mode ? { driftPolicy: { mode } } : {},
  status: drift ? { drift } : {},
});

describe('drifted services', () => {
  const services = [
    service('shop', 'web', { count: 2, liveVsFrozen: 1, declaredVsFrozen: 1, lastCheckedTime: '2025-03-01T11:59:50Z' }),
    service('shop', 'db', { count: 0, lastCheckedTime: '2025-03-01T11:59:50Z' }),
    service('blog', 'app', { count: 1, liveVsFrozen: 1 }, 'heal'),
    service('shop', 'new'),
  ];

  it('keeps only services with drift, ordered by project and name, with their policy', () => {
    assert.deepEqual(driftedServices(services), [
      { namespace: 'blog', name: 'app', count: 1, liveVsFrozen: 1, declaredVsFrozen: 0, policy: 'heal' },
      { namespace: 'shop', name: 'web', count: 2, liveVsFrozen: 1, declaredVsFrozen: 1, policy: 'report', lastCheckedTime: '2025-03-01T11:59:50Z' },
    ]);
  });

  it('prints a table, with the project column across projects', () => {
    assert.equal(
      driftedServicesTable(driftedServices(services), NOW, true),
      [
        'NAMESPACE   NAME          DRIFT   LIVE-VS-FROZEN   DECLARED-VS-FROZEN   POLICY   CHECKED',
        'blog        service/app   1       1                0                    heal     <none>',
        'shop        service/web   2       1                1                    report   10s ago',
        '',
      ].join('\n'),
    );
    assert.match(driftedServicesTable(driftedServices(services), NOW, false), /^NAME {10}DRIFT/);
  });
});

describe('drift entries', () => {
  const entries: DriftEntry[] = [
    { path: 'spec.image', kind: 'changed', source: 'declared-vs-frozen', expected: 'web:1.4.2', actual: 'web:1.5.0', firstSeen: '2025-03-01T11:00:00Z', lastSeen: '2025-03-01T11:59:00Z' },
    { path: 'containers[web-1].env.GREETING', kind: 'changed', source: 'live-vs-frozen', expected: 'hello', actual: 'hi', firstSeen: '2025-03-01T11:58:00Z', lastSeen: '2025-03-01T11:59:58Z' },
    { path: 'containers[web-1].ports[8080/tcp]', kind: 'missing', source: 'live-vs-frozen', expected: { containerPort: 8080, hostPort: 18080 } },
  ];

  it('lists what changed on the host first, then what is not rolled out', () => {
    assert.deepEqual(sortDrift(entries).map((e) => e.path), ['containers[web-1].env.GREETING', 'containers[web-1].ports[8080/tcp]', 'spec.image']);
  });

  it('prints one row per entry with values as text', () => {
    assert.equal(
      driftEntriesTable(entries, NOW),
      [
        'SOURCE               PATH                                KIND      EXPECTED                                  ACTUAL      FIRST SEEN   LAST SEEN',
        'live-vs-frozen       containers[web-1].env.GREETING      changed   hello                                     hi          2m ago       2s ago',
        'live-vs-frozen       containers[web-1].ports[8080/tcp]   missing   {"containerPort":8080,"hostPort":18080}   <none>      <none>       <none>',
        'declared-vs-frozen   spec.image                          changed   web:1.4.2                                 web:1.5.0   60m ago      60s ago',
        '',
      ].join('\n'),
    );
  });

  const values: Array<[unknown, string]> = [
    [undefined, '<none>'],
    [null, '<none>'],
    ['a b\nc', 'a b c'],
    [3, '3'],
    [false, 'false'],
    [['x', 'y'], '["x","y"]'],
    ['x'.repeat(60), 'x'.repeat(47) + '…'],
  ];
  for (const [value, want] of values) it(`shows ${JSON.stringify(value)} as ${want.slice(0, 12)}`, () => assert.equal(driftValue(value), want));
});

describe('diff --live', () => {
  const frozen = { containers: [{ name: 'web-1', image: 'web:1', env: { GREETING: 'hello', DB_PASSWORD: { sha256: 'abc' } } }] };

  it('is empty when what runs is what was deployed, whatever the key order', () => {
    const live = { containers: [{ env: { DB_PASSWORD: { sha256: 'abc' }, GREETING: 'hello' }, image: 'web:1', name: 'web-1' }] };
    assert.equal(liveDiff({ namespace: 'shop', name: 'web' }, frozen, live), '');
  });

  it('shows the changed field as a unified diff of YAML with kubectl-like file names', () => {
    const live = { containers: [{ name: 'web-1', image: 'web:1', env: { GREETING: 'hi', DB_PASSWORD: { sha256: 'abc' } } }] };
    assert.equal(
      liveDiff({ namespace: 'shop', name: 'web' }, frozen, live),
      [
        'diff -u -N /tmp/FROZEN/holdfast.dev.v1alpha1.Service.shop.web /tmp/LIVE/holdfast.dev.v1alpha1.Service.shop.web',
        '--- /tmp/FROZEN/holdfast.dev.v1alpha1.Service.shop.web',
        '+++ /tmp/LIVE/holdfast.dev.v1alpha1.Service.shop.web',
        '@@ -2,6 +2,6 @@',
        ' - env:',
        '     DB_PASSWORD:',
        '       sha256: abc',
        '-    GREETING: hello',
        '+    GREETING: hi',
        '   image: web:1',
        '   name: web-1',
        '',
      ].join('\n'),
    );
  });

  it('shows everything as gone when nothing runs', () => {
    const text = liveDiff({ namespace: 'shop', name: 'web' }, frozen, null);
    assert.match(text, /^@@ -1,7 \+0,0 @@$/m);
    assert.ok(text.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---')).length === 7);
  });
});
