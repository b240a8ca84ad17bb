// The dashboard's pure parts: service and server states, field rows and drift matching, routes,
// times, reconnect backoff and the line splitter of the watch stream.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readLines } from '../../../dashboard/src/api/ndjson.js';
import type { Condition, DriftEntry, Server, Service } from '../../../dashboard/src/api/types.js';
import { BACKOFF_MAX_MS, backoffDelay } from '../../../dashboard/src/model/backoff.js';
import { compareSecret, driftFor, driftValue, flattenFields, MASK, secretDriftText, normalisePath, pathSegments } from '../../../dashboard/src/model/fields.js';
import { href, parseRoute } from '../../../dashboard/src/model/route.js';
import { conditionTone, replicaCounts, serverState, serviceState } from '../../../dashboard/src/model/status.js';
import { duration, formatBytes, relativeTime } from '../../../dashboard/src/model/time.js';

const T = '2025-01-01T00:00:00Z';
const cond = (type: string, status: Condition['status'], message = ''): Condition => ({ type, status, reason: 'Test', message, lastTransitionTime: T });
const service = (status: Service['status'], generation = 1): Pick<Service, 'metadata' | 'status'> => ({ metadata: { name: 'web', namespace: 'shop', generation }, status });

describe('serviceState', () => {
  const cases: Array<[name: string, svc: Pick<Service, 'metadata' | 'status'>, expected: string]> = [
    ['no status yet', service(undefined), 'pending'],
    ['empty status', service({}), 'pending'],
    ['ready', service({ observedGeneration: 1, conditions: [cond('Ready', 'True')] }), 'synced'],
    ['drifted condition', service({ observedGeneration: 1, conditions: [cond('Ready', 'True'), cond('Drifted', 'True')] }), 'drifted'],
    ['drift count without condition', service({ observedGeneration: 1, conditions: [cond('Ready', 'True')], drift: { count: 2 } }), 'drifted'],
    ['progressing beats drifted', service({ observedGeneration: 1, conditions: [cond('Progressing', 'True'), cond('Drifted', 'True')] }), 'progressing'],
    ['deployment running', service({ observedGeneration: 1, conditions: [cond('Ready', 'True')], currentDeployment: { phase: 'deploy' } }), 'progressing'],
    ['new generation not observed', service({ observedGeneration: 1, conditions: [cond('Ready', 'True')] }, 2), 'progressing'],
    ['failed deployment', service({ observedGeneration: 1, conditions: [cond('Progressing', 'True')], currentDeployment: { name: 'd1', phase: 'failed' } }), 'failed'],
    ['degraded', service({ observedGeneration: 1, conditions: [cond('Ready', 'True'), cond('Degraded', 'True', 'crash loop')] }), 'failed'],
    ['not ready, not progressing', service({ observedGeneration: 1, conditions: [cond('Ready', 'False')] }), 'failed'],
    ['not ready because it drifted', service({ observedGeneration: 1, conditions: [cond('Ready', 'False'), cond('Drifted', 'True')] }), 'drifted'],
    ['readiness unknown', service({ observedGeneration: 1, conditions: [cond('Ready', 'Unknown')] }), 'pending'],
    ['being deleted', { metadata: { name: 'web', namespace: 'shop', generation: 1, deletionTimestamp: T }, status: { conditions: [cond('Ready', 'True')] } }, 'progressing'],
  ];
  for (const [name, svc, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(serviceState(svc).state, expected));
  }
  it('gives the condition message as the reason', () => {
    assert.equal(serviceState(service({ conditions: [cond('Degraded', 'True', 'crash loop')] })).reason, 'crash loop');
  });
  it("says why a deployment failed, from the Degraded condition the failure set", () => {
    const failed = service({
      observedGeneration: 1,
      conditions: [{ type: 'Degraded', status: 'True', reason: 'PortInUse', message: 'host port 22 is taken by sshd', lastTransitionTime: T }],
      currentDeployment: { name: 'd-1', phase: 'failed' },
    });
    assert.equal(serviceState(failed).reason, 'Deployment d-1 failed: PortInUse: host port 22 is taken by sshd');
    assert.equal(serviceState(service({ observedGeneration: 1, currentDeployment: { name: 'd-2', phase: 'failed' } })).reason, 'Deployment d-2 failed');
  });
});

describe('serverState (the readiness classes of the CLI)', () => {
  const server = (status: Server['status']): Pick<Server, 'metadata' | 'status'> => ({ metadata: { name: 'edge-1' }, status });
  const cases: Array<[name: string, srv: Pick<Server, 'metadata' | 'status'>, expected: string, reason: RegExp]> = [
    ['never checked', server(undefined), 'attention', /not checked yet/i],
    ['ready, all checks pass', server({ conditions: [cond('Ready', 'True', 'all good')], checks: [{ name: 'ssh', result: 'Pass' }] }), 'ready', /all good/],
    ['ready with a warning', server({ conditions: [cond('Ready', 'True')], checks: [{ name: 'ipvs', result: 'Warn', message: 'no IPVS' }] }), 'attention', /^warnings: ipvs$/],
    ['ready with a failing check', server({ conditions: [cond('Ready', 'True')], checks: [{ name: 'disk', result: 'Fail', message: 'full' }] }), 'attention', /^failing: disk$/],
    ['readiness unknown', server({ conditions: [cond('Ready', 'Unknown', 'probing')] }), 'attention', /probing/],
    ['not ready', server({ conditions: [cond('Ready', 'False', 'host key mismatch')] }), 'blocked', /host key mismatch/],
  ];
  for (const [name, srv, expected, reason] of cases) {
    it(`${name} → ${expected}`, () => {
      const judged = serverState(srv);
      assert.equal(judged.state, expected);
      assert.match(judged.reason, reason);
    });
  }
});

describe('flattenFields', () => {
  it('lists leaves with paths, name first, empty collections left out', () => {
    const rows = flattenFields({ replicas: 1, env: [{ value: 'hello', name: 'GREETING' }], capAdd: [], labels: {} });
    assert.deepEqual(
      rows.map((r) => [r.path, r.display]),
      [
        ['env[GREETING].name', 'GREETING'],
        ['env[GREETING].value', 'hello'],
        ['replicas', '1'],
      ],
    );
  });
  it('names list items as the drift engine does, by position only when they have no identity', () => {
    const rows = flattenFields({
      containers: [
        {
          name: 'hf_shop_production_web_1',
          ports: [{ containerPort: 8080, protocol: 'tcp', hostPort: 18080 }],
          mounts: [{ type: 'volume', source: 'data', target: '/var/lib/x.y' }],
          command: ['httpd', '-f'],
        },
      ],
      ports: [{ containerPort: 53, protocol: 'udp' }, { containerPort: 53, protocol: 'udp' }],
    });
    assert.deepEqual(
      rows.map((r) => r.path),
      [
        'containers[hf_shop_production_web_1].name',
        'containers[hf_shop_production_web_1].command[0]',
        'containers[hf_shop_production_web_1].command[1]',
        'containers[hf_shop_production_web_1].mounts[/var/lib/x.y].source',
        'containers[hf_shop_production_web_1].mounts[/var/lib/x.y].target',
        'containers[hf_shop_production_web_1].mounts[/var/lib/x.y].type',
        'containers[hf_shop_production_web_1].ports[8080/tcp].containerPort',
        'containers[hf_shop_production_web_1].ports[8080/tcp].hostPort',
        'containers[hf_shop_production_web_1].ports[8080/tcp].protocol',
        // Two items with one identity: positions.
        'ports[0].containerPort',
        'ports[0].protocol',
        'ports[1].containerPort',
        'ports[1].protocol',
      ],
    );
  });
  it('keeps an empty collection a drift entry points at', () => {
    const rows = flattenFields({ capAdd: [] }, '', new Set(['capAdd']));
    assert.deepEqual(rows, [{ path: 'capAdd', display: '[]' }]);
  });
  it('masks secret values and never shows their hash', () => {
    const rows = flattenFields({ env: { DB_PASSWORD: { secretRef: { name: 'db', key: 'password' }, secretHash: 'sha256:abc123' } } });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].path, 'env.DB_PASSWORD');
    assert.equal(rows[0].display, `${MASK} (secret db/password)`);
    assert.ok(!rows[0].display.includes('abc123'));
    assert.equal(rows[0].secret?.hash, 'sha256:abc123');
  });
});

describe('secrets compare by hash only', () => {
  const view = (hash: string) => flattenFields({ env: { P: { secretRef: { name: 'db', key: 'p' }, secretHash: hash } } });
  const cases: Array<[name: string, other: ReturnType<typeof flattenFields>, expected: string]> = [
    ['same hash', view('h1'), 'unchanged'],
    ['other hash', view('h2'), 'changed'],
    ['absent in the other view', [], 'missing'],
  ];
  for (const [name, other, expected] of cases) it(`${name} → ${expected}`, () => assert.equal(compareSecret(view('h1')[0], other), expected));
  it('drift values of a secret are masked', () => {
    const entry: DriftEntry = { path: 'env.P', kind: 'changed', source: 'live-vs-frozen', expected: { secretHash: 'h1' }, actual: { secretHash: 'h2' } };
    assert.equal(driftValue(entry.expected), MASK);
    assert.equal(driftValue(undefined), '—');
    assert.equal(driftValue({ a: 1 }), '{"a":1}');
  });
});

describe('secret drift in words', () => {
  const ref = { name: 'db', key: 'password' };
  const A = `sha256:${'0'.repeat(60)}3fa1`;
  const B = `sha256:${'0'.repeat(60)}0c9f`;
  const C = `sha256:${'1'.repeat(56)}77770c9f`;
  const entry = (expected: unknown, actual: unknown, kind: DriftEntry['kind'] = 'changed'): DriftEntry => ({ path: 'env.DB_PASSWORD', kind, source: 'live-vs-frozen', expected, actual });
  const cases: Array<[name: string, e: DriftEntry, text: string | undefined]> = [
    ['changed, with its key', entry({ secretRef: ref, secretHash: A }, { secretRef: ref, secretHash: B }), 'db/password: value changed (sha256 …3fa1 → …0c9f)'],
    ['ends that match are lengthened until they differ', entry({ secretRef: ref, secretHash: B }, { secretRef: ref, secretHash: C }), 'db/password: value changed (sha256 …00c9f → …70c9f)'],
    ['missing on the host', entry({ secretRef: ref, secretHash: A }, undefined, 'missing'), 'db/password: value missing (sha256 …3fa1 expected)'],
    ['not hashable on the host', entry({ secretRef: ref, secretHash: A }, { secretRef: ref, secretHash: '(not hashed)' }), "db/password: value differs (the host's value could not be hashed)"],
    ['not a secret', entry('a', 'b'), undefined],
  ];
  for (const [name, e, text] of cases) it(name, () => assert.equal(secretDriftText(e), text));
  it('never shows a whole hash', () => assert.ok(!secretDriftText(cases[0][1])!.includes(A.slice(7, 40))));
});

describe('paths and drift matching', () => {
  const segments: Array<[string, string[]]> = [
    ['containers[0].env.GREETING', ['containers', '0', 'env', 'GREETING']],
    ['/containers/0/image', ['containers', '0', 'image']],
    ['/labels/holdfast.dev~1project', ['labels', 'holdfast.dev/project']],
    ['ports[8080/tcp]', ['ports', '8080/tcp']],
    ['mounts[/var/lib/x.y].source', ['mounts', '/var/lib/x.y', 'source']],
    ['spec.ports[1]', ['spec', 'ports', '1']],
  ];
  for (const [input, expected] of segments) it(`pathSegments(${input})`, () => assert.deepEqual(pathSegments(input), expected));
  it('spells equal paths equally', () => assert.equal(normalisePath('containers[0].image'), normalisePath('/containers/0/image')));

  const entries: DriftEntry[] = [
    { path: 'containers[web_1].image', kind: 'changed', source: 'live-vs-frozen' },
    { path: 'ports[8080/tcp]', kind: 'changed', source: 'live-vs-frozen', expected: { containerPort: 8080, protocol: 'tcp', hostPort: 18080 }, actual: { containerPort: 8080, protocol: 'tcp', hostPort: 18081 } },
    { path: 'mounts[/var/lib/x.y]', kind: 'changed', source: 'live-vs-frozen' },
    { path: 'spec.replicas', kind: 'changed', source: 'declared-vs-frozen' },
  ];
  const matchCases: Array<[row: string, stripSpec: boolean, hits: string[]]> = [
    ['containers[web_1].image', false, ['containers[web_1].image']],
    ['containers[web_1].imageDigest', false, []],
    ['containers[web_2].image', false, []],
    // Container-relative entries match the field in any container.
    ['containers[web_1].ports[8080/tcp].hostPort', false, ['ports[8080/tcp]']],
    ['containers[web_2].mounts[/var/lib/x.y].source', false, ['mounts[/var/lib/x.y]']],
    ['containers[web_1].ports[8081/tcp].hostPort', false, []],
    // Under a changed object only what differs is marked.
    ['containers[web_1].ports[8080/tcp].containerPort', false, []],
    ['containers[web_1].mounts[/var/lib/x.y].readOnly', false, ['mounts[/var/lib/x.y]']],
    ['ports[8080/tcp].hostPort', false, ['ports[8080/tcp]']],
    ['replicas', true, ['spec.replicas']],
    ['replicas', false, []],
  ];
  for (const [row, stripSpec, hits] of matchCases) {
    it(`${row}${stripSpec ? ' (declared)' : ''} → ${JSON.stringify(hits)}`, () =>
      assert.deepEqual(driftFor(row, entries, { stripSpec }).map((d) => d.path), hits));
  }
});

describe('routes', () => {
  const cases: Array<[hash: string, route: unknown]> = [
    ['', { page: 'overview' }],
    ['#/', { page: 'overview' }],
    ['#/services', { page: 'services', filters: {} }],
    ['#/services?project=shop&status=drifted', { page: 'services', filters: { project: 'shop', status: 'drifted' } }],
    ['#/services?status=bogus', { page: 'services', filters: {} }],
    ['#/services/shop/web', { page: 'service', namespace: 'shop', name: 'web' }],
    ['#/servers', { page: 'servers' }],
    ['#/servers/edge-1', { page: 'server', name: 'edge-1' }],
    ['#/events?tab=audit', { page: 'events', tab: 'audit' }],
    ['#/backups', { page: 'backups' }],
    ['#/secrets', { page: 'secrets' }],
    ['#/sources', { page: 'sources' }],
    ['#/tokens', { page: 'tokens' }],
    ['#/tokens/x', { page: 'not-found', path: '/tokens/x' }],
    ['#/nowhere/at/all/x', { page: 'not-found', path: '/nowhere/at/all/x' }],
  ];
  for (const [hash, route] of cases) it(`parses "${hash}"`, () => assert.deepEqual(parseRoute(hash), route));
  it('builds hrefs that parse back', () => {
    assert.deepEqual(parseRoute(href.services({ project: 'shop', environment: 'production', q: '' })), { page: 'services', filters: { project: 'shop', environment: 'production' } });
    assert.deepEqual(parseRoute(href.service('shop', 'web')), { page: 'service', namespace: 'shop', name: 'web' });
  });
});

describe('times', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');
  const rel: Array<[string | undefined, string]> = [
    [undefined, '—'],
    ['2025-01-01T11:59:58Z', 'just now'],
    ['2025-01-01T11:59:30Z', '30 s ago'],
    ['2025-01-01T11:55:00Z', '5 min ago'],
    ['2025-01-01T09:00:00Z', '3 h ago'],
    ['2024-12-25T12:00:00Z', '7 d ago'],
  ];
  for (const [iso, expected] of rel) it(`relativeTime(${iso}) = ${expected}`, () => assert.equal(relativeTime(iso, now), expected));
  const durations: Array<[string, string | undefined, string]> = [
    ['2025-01-01T11:59:59.150Z', '2025-01-01T12:00:00Z', '850 ms'],
    ['2025-01-01T11:59:47.600Z', undefined, '12.4 s'],
    ['2025-01-01T11:56:55Z', '2025-01-01T12:00:00Z', '3 min 05 s'],
    ['2025-01-01T09:50:00Z', undefined, '2 h 10 min'],
  ];
  for (const [start, end, expected] of durations) it(`duration → ${expected}`, () => assert.equal(duration(start, end, now), expected));
  it('formats bytes', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(8 * 1024 ** 3), '8.0 GiB');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially under full jitter and stays capped', () => {
    assert.equal(backoffDelay(0, () => 1), 500);
    assert.equal(backoffDelay(3, () => 1), 4000);
    assert.equal(backoffDelay(30, () => 1), BACKOFF_MAX_MS);
    assert.equal(backoffDelay(5, () => 0), 0);
  });
});

describe('readLines', () => {
  it('splits chunks into lines across chunk boundaries and keeps a last unterminated line', async () => {
    const encoder = new TextEncoder();
    const chunks = ['{"type":"ADD', 'ED"}\n{"type":"MOD', 'IFIED"}\n\nlast'];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(encoder.encode(c));
        controller.close();
      },
    });
    const lines: string[] = [];
    for await (const line of readLines(body)) lines.push(line);
    assert.deepEqual(lines, ['{"type":"ADDED"}', '{"type":"MODIFIED"}', '', 'last']);
  });
  it('decodes a multi-byte character split between chunks', async () => {
    const bytes = new TextEncoder().encode('héllo\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 2));
        controller.enqueue(bytes.slice(2));
        controller.close();
      },
    });
    const lines: string[] = [];
    for await (const line of readLines(body)) lines.push(line);
    assert.deepEqual(lines, ['héllo']);
  });
});

describe('conditionTone', () => {
  const cases: Array<[string, Condition['status'], string]> = [
    ['Ready', 'True', 'synced'],
    ['Ready', 'False', 'failed'],
    ['Ready', 'Unknown', 'pending'],
    ['Drifted', 'True', 'drifted'],
    ['Drifted', 'False', 'synced'],
    ['Degraded', 'True', 'failed'],
    ['DiskPressure', 'True', 'drifted'],
    ['DiskPressure', 'False', 'synced'],
    ['Progressing', 'True', 'progressing'],
  ];
  for (const [type, status, tone] of cases) {
    it(`${type}=${status} → ${tone}`, () => assert.equal(conditionTone({ type, status, reason: 'R', message: '', lastTransitionTime: '2026-11-26T12:00:00Z' } as Condition), tone));
  }
});

describe('replicaCounts: the API status counts, as the CLI shows them', () => {
  const cases: Array<[name: string, svc: Pick<Service, 'spec' | 'status'>, expected: { ready: number; desired: number | undefined }]> = [
    ['two containers of a compose Service whose spec says one replica: 2/2, never 2/1', { spec: { replicas: 1 } as Service['spec'], status: { replicas: 2, readyReplicas: 2 } }, { ready: 2, desired: 2 }],
    ['one of two ready', { status: { replicas: 2, readyReplicas: 1 } }, { ready: 1, desired: 2 }],
    ['before any deployment completed: the spec count', { spec: { replicas: 3 } as Service['spec'], status: {} }, { ready: 0, desired: 3 }],
    ['nothing known', { status: undefined }, { ready: 0, desired: undefined }],
  ];
  for (const [name, svc, expected] of cases) it(name, () => assert.deepEqual(replicaCounts(svc), expected));
});
