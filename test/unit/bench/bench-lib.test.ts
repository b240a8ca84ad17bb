// The benchmark's pure parts: statistics, the /metrics reader, the workload it writes for each tool,
// the reading of bench/drift-latency.ts's output, and the result table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { validateObject } from '../../../core/schema/validate.js';
import { inspectorUrl, topSelfTime } from '../../../bench/lib/cpu-profile.js';
import { parseDriftLatencyOutput, parseObserveCostOutput, parseReplicasOutput } from '../../../bench/lib/script-output.js';
import { parsePrometheusText, sumOf } from '../../../bench/lib/prometheus-text.js';
import { addRatios, formatValue, renderMarkdown, renderText, type Row } from '../../../bench/lib/report.js';
import { median, quantile, ratio } from '../../../bench/lib/stats.js';
import { composeDocument, hostPortOf, projectManifest, serviceManifest, serviceName, type Workload } from '../../../bench/lib/workload.js';

describe('stats', () => {
  const cases: Array<[string, number[], number | undefined, number | undefined, number | undefined]> = [
    // name, samples, median, p99, min (q=0)
    ['none', [], undefined, undefined, undefined],
    ['one', [7], 7, 7, 7],
    ['odd, unsorted', [3, 1, 2], 2, 3, 1],
    ['even: mean of the middle two', [4, 1, 3, 2], 2.5, 4, 1],
    ['p99 of 100 is the 99th', Array.from({ length: 100 }, (_, i) => i + 1), 50.5, 99, 1],
    ['p99 of 50 is the largest', Array.from({ length: 50 }, (_, i) => 50 - i), 25.5, 50, 1],
  ];
  for (const [name, samples, med, p99, min] of cases) {
    it(name, () => {
      assert.equal(median(samples), med);
      assert.equal(quantile(samples, 0.99), p99);
      assert.equal(quantile(samples, 0), min);
    });
  }
  it('ratio needs both figures and a divisor other than zero', () => {
    assert.equal(ratio(3, 2), 1.5);
    assert.equal(ratio(undefined, 2), undefined);
    assert.equal(ratio(3, undefined), undefined);
    assert.equal(ratio(3, 0), undefined);
  });
});

describe('prometheus text', () => {
  const text = [
    '# HELP holdfast_docker_api_calls_total Docker Engine API calls.',
    '# TYPE holdfast_docker_api_calls_total counter',
    'holdfast_docker_api_calls_total{server="edge-1"} 12',
    'holdfast_docker_api_calls_total{server="edge-2"} 30',
    'holdfast_reconcile_duration_seconds_bucket{le="+Inf",kind="Service",outcome="success"} 4',
    'holdfast_reconcile_duration_seconds_count{kind="Service",outcome="success"} 4',
    'holdfast_reconcile_duration_seconds_count{kind="Service",outcome="requeue"} 2',
    'holdfast_reconcile_duration_seconds_count{kind="Server",outcome="success"} 9',
    'holdfast_api_requests_total{route="/a \\"quoted\\" b",method="GET",code="200"} 5',
    'holdfast_process_cpu_seconds_total 1.25 1700000000000',
    'not a sample line at all {',
  ].join('\n');
  const samples = parsePrometheusText(text);

  it('reads names, labels (escapes included), values and skips comments and junk', () => {
    assert.equal(samples.length, 8);
    assert.deepEqual(samples[0], { name: 'holdfast_docker_api_calls_total', labels: { server: 'edge-1' }, value: 12 });
    assert.equal(samples[2]!.labels.le, '+Inf');
    assert.equal(samples[6]!.labels.route, '/a "quoted" b');
    assert.equal(samples[7]!.value, 1.25, 'a timestamp after the value is not the value');
  });
  const sums: Array<[string, Record<string, string>, number]> = [
    ['holdfast_docker_api_calls_total', {}, 42],
    ['holdfast_docker_api_calls_total', { server: 'edge-2' }, 30],
    ['holdfast_reconcile_duration_seconds_count', { kind: 'Service' }, 6],
    ['holdfast_reconcile_duration_seconds_count', { kind: 'Service', outcome: 'requeue' }, 2],
    ['holdfast_ssh_execs_total', {}, 0],
  ];
  for (const [name, match, total] of sums) {
    it(`sums ${name} ${JSON.stringify(match)} to ${total}`, () => assert.equal(sumOf(samples, name, match), total));
  }
});

describe('workload', () => {
  const w: Workload = { project: 'bench-hf', environment: 'bench', servers: ['bench-h1', 'bench-h2'], count: 4, running: 3, firstHostPort: 41001, driftMode: 'heal' };

  it('names services with a zero-padded index and gives each its own port', () => {
    assert.equal(serviceName(7), 'svc-0007');
    assert.deepEqual([1, 2, 3].map((i) => hostPortOf(w, i)), [41001, 41002, 41003]);
  });

  it('writes Service manifests the API schema accepts, spread over the servers, replicas 0 past `running`', () => {
    validateObject(projectManifest(w));
    const services = [1, 2, 3, 4].map((i) => serviceManifest(w, i) as { spec: Record<string, unknown> });
    for (const s of services) validateObject(s);
    assert.deepEqual(services.map((s) => s.spec.server), ['bench-h1', 'bench-h2', 'bench-h1', 'bench-h2']);
    assert.deepEqual(services.map((s) => s.spec.replicas), [1, 1, 1, 0]);
    assert.deepEqual(services[1]!.spec.env, [{ name: 'BENCH_ID', value: '2' }]);
    assert.deepEqual(services[1]!.spec.ports, [{ containerPort: 8080, hostPort: 41002, protocol: 'tcp' }]);
    assert.equal(services[3]!.spec.ports, undefined);
    assert.deepEqual(services[0]!.spec.driftPolicy, { mode: 'heal' });
  });

  it('writes the same containers as one compose file', () => {
    const doc = load(composeDocument(w)) as { version: string; services: Record<string, Record<string, unknown>> };
    assert.equal(doc.version, '2.4');
    assert.deepEqual(Object.keys(doc.services), ['svc-0001', 'svc-0002', 'svc-0003', 'svc-0004']);
    assert.deepEqual(doc.services['svc-0002'], {
      image: 'holdfast-test/busybox:1',
      command: ['httpd', '-f', '-p', '8080'],
      environment: { BENCH_ID: '2' },
      ports: ['41002:8080'],
      restart: 'unless-stopped',
    });
    assert.equal(doc.services['svc-0004']!.ports, undefined);
  });
});

describe('drift-latency output', () => {
  const last = JSON.stringify({
    driftDetection: { medianMs: 180, p99Ms: 640, samples: 50 },
    driftRecorded: { medianMs: 200, p99Ms: 700, samples: 50 },
    dockerEvent: { medianMs: 12, p99Ms: 40, samples: 49 },
    heal: { runningAgainMs: [900, 1100, 950], resolvedInApiMs: [1500, 1700, 1600] },
  });
  const cases: Array<[string, string, ReturnType<typeof parseDriftLatencyOutput>]> = [
    [
      'its closing JSON line, series in order, heal times',
      `Drift detection latency ... median 999 ms, p99 999 ms\n{"not":"this one"}\n${last}\n`,
      {
        series: [
          { name: 'driftDetection', medianMs: 180, p99Ms: 640, samples: 50 },
          { name: 'driftRecorded', medianMs: 200, p99Ms: 700, samples: 50 },
          { name: 'dockerEvent', medianMs: 12, p99Ms: 40, samples: 49 },
        ],
        healRunningMs: [900, 1100, 950],
        healResolvedMs: [1500, 1700, 1600],
      },
    ],
    ['prose only: median and p99 with units', 'changes  median  p99\n50  median 212 ms, p99 0.87 s\n', { series: [{ name: 'text', medianMs: 212, p99Ms: 870 }] }],
    ['nothing readable', 'all done\n{broken json\n', { series: [] }],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(parseDriftLatencyOutput(text), expected));
  }
});

describe('observe-cost output', () => {
  it('reads each row of its table', () => {
    const text = [
      'host                  method                                        calls  median ms  p90 ms  x API',
      '--------------------  --------------------------------------------  -----  ---------  ------  -----',
      'hf-h2 (3 containers)  API GET /containers/json, kept session          200       0.54    0.75     1x',
      'hf-h2 (3 containers)  `ssh host docker ps -a`, new connection each     20     221.75  252.49   414x',
      '',
    ].join('\n');
    assert.deepEqual(parseObserveCostOutput(text), [
      { host: 'hf-h2 (3 containers)', method: 'API GET /containers/json, kept session', calls: 200, medianMs: 0.54, p90Ms: 0.75 },
      { host: 'hf-h2 (3 containers)', method: '`ssh host docker ps -a`, new connection each', calls: 20, medianMs: 221.75, p90Ms: 252.49 },
    ]);
    assert.deepEqual(parseObserveCostOutput('no table here\n'), []);
  });
});

describe('replicas output', () => {
  const figures = {
    declared: 1000,
    running: 30,
    steadySeconds: 60,
    leaseSeconds: 15,
    renewSeconds: 5,
    replicas: [
      { replicas: 1, store: 'postgres' as const, profile: [{ fn: 'reconcile (controllers/manager.ts:180)', ms: 420.5, percent: 0.7 }], convergedPerSecond: 2.5, convergeMs: 12000, cpuPercent: [3.1], rssMb: [140], rssMaxMb: [170], reconcilesPerMinute: 12, loadAverage: '2.00 1.50 1.00' },
      { replicas: 2, store: 'postgres' as const, convergedPerSecond: 3, convergeMs: 10000, cpuPercent: [2, 2.2], rssMb: [120, 118], rssMaxMb: [131, 129], reconcilesPerMinute: 10, takeoverMs: 17500, loadAverage: '2.10 1.60 1.10' },
    ],
  };
  const cases: Array<[string, string, ReturnType<typeof parseReplicasOutput>]> = [
    ['its last JSON line with a replicas list, after the prose lines', `1 replica(s): 2.5 Services converged/s\n{"replicas":"not a list"}\n${JSON.stringify(figures)}\n`, figures],
    ['the later of two such lines', `${JSON.stringify({ ...figures, declared: 5 })}\n${JSON.stringify(figures)}\n`, figures],
    ['nothing readable', '1 replica(s): 2.5 Services converged/s\n{broken json\n', undefined],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(parseReplicasOutput(text), expected));
  }
});

describe('cpu profile', () => {
  const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('reconcile', 'file:///pkg/controllers/manager.ts', 179) },
      { id: 4, callFrame: frame('reconcile', 'file:///pkg/controllers/manager.ts', 179) },
      { id: 5, callFrame: frame('', 'node:internal/timers', 9) },
    ],
    samples: [2, 3, 4, 5, 2, 3],
    timeDeltas: [5000, 1000, 2000, 500, 1000, 500],
  };
  it('sums self time per function over its call paths, leaves idle out, shares of all the time', () => {
    assert.deepEqual(topSelfTime(profile, 10, '/pkg/'), [
      { fn: 'reconcile (controllers/manager.ts:180)', ms: 3.5, percent: 35 },
      { fn: '(anonymous) (node:internal/timers:10)', ms: 0.5, percent: 5 },
    ]);
    assert.equal(topSelfTime(profile, 1, '/pkg/').length, 1);
  });
  it('finds the inspector address a process printed', () => {
    assert.equal(inspectorUrl('x\nDebugger listening on ws://127.0.0.1:40123/0f1e-2d3c\nFor help, see: https://nodejs.org/en/docs/inspector\n'), 'ws://127.0.0.1:40123/0f1e-2d3c');
    assert.equal(inspectorUrl('holdfast API listening'), undefined);
  });
});

describe('report', () => {
  const rows: Row[] = [
    { section: '10 services', what: 'cold converge', tool: 'holdfast', unit: 'ms', samples: [3000, 2000, 4000] },
    { section: '10 services', what: 'cold converge', tool: 'local', unit: 'ms', samples: [1000, 1000] },
    { section: '10 services', what: 'cold converge', tool: 'ssh', unit: 'ms', samples: [40_000] },
    { section: '10 services', what: 'idle RSS', tool: 'holdfast', unit: 'MB', samples: [250.4], target: { text: '< 300 MB', met: true } },
  ];
  addRatios(rows, { local: 'local', ssh: 'ssh' });

  it('relates each figure to the compose medians of the same figure', () => {
    assert.equal(rows[0]!.vsLocal, 3);
    assert.equal(rows[0]!.vsSsh, 0.075);
    assert.equal(rows[3]!.vsLocal, undefined);
    assert.equal(rows[1]!.vsLocal, undefined, 'a baseline is not compared with itself');
  });

  it('formats values by unit', () => {
    const cases: Array<[number | undefined, Row['unit'], string]> = [
      [5.25, 'ms', '5.3 ms'],
      [250, 'ms', '250 ms'],
      [2500, 'ms', '2.50 s'],
      [42_000, 'ms', '42.0 s'],
      [299.6, 'MB', '300 MB'],
      [0.84, '%', '0.8 %'],
      [3, 'count', '3'],
      [0.5, 'count', '0.50'],
      [undefined, 'ms', 'n/a'],
      [NaN, 'count', 'n/a'],
    ];
    for (const [value, unit, text] of cases) assert.equal(formatValue(value, unit), text, `${value} ${unit}`);
  });

  it('prints a table with medians, ranges, ratios and targets', () => {
    const lines = renderText(rows).split('\n');
    assert.match(lines[0]!, /^section +figure +tool +n +median +range +vs compose local +vs compose ssh +target +met$/);
    assert.match(lines[2]!, /^10 services +cold converge +holdfast +3 +3\.00 s +2\.00 s – 4\.00 s +3\.00× +0\.075×$/);
    assert.match(lines[5]!, /^10 services +idle RSS +holdfast +1 +250 MB +< 300 MB +yes$/);
    const fromScript = renderText([{ section: 'drift', what: 'p99', tool: 'holdfast', unit: 'ms', samples: [], value: 245, n: 50 }]).split('\n');
    assert.match(fromScript[2]!, /^drift +p99 +holdfast +50 +245 ms$/, 'a figure computed elsewhere shows its own count and value');
    const md = renderMarkdown(rows).split('\n');
    assert.equal(md[0], '| section | figure | tool | n | median | range | vs compose local | vs compose ssh | target | met |');
    assert.equal(md[2], '| 10 services | cold converge | holdfast | 3 | 3.00 s | 2.00 s – 4.00 s | 3.00× | 0.075× |  |  |');
  });
});
