// The benchmark's smallest run (`bench/run.ts --quick`) on the real test hosts: it must finish, print
// its table with a number in every measured row, compare Holdfast with docker-compose on the host
// socket and over SSH, and leave nothing behind on the host.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../../core/package-root.js';
import type { Report, Row } from '../../../bench/lib/report.js';
import { HostEngine } from '../../../bench/lib/host-engine.js';
import { loadTestHosts, testHost } from '../../support/testhosts.js';

// About 110 s at a load average of 5 to 10 on two cores; a compose-over-SSH retry adds up to 30 s.
const RUN_TIMEOUT_MS = 300_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runBench(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(packageRoot(), 'bench', 'run.ts'), ...args], {
      cwd: packageRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: RUN_TIMEOUT_MS,
      killSignal: 'SIGTERM',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

const benchDataDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('bench-holdfast-data-') || d.startsWith('bench-run-'));

describe('bench/run.ts --quick on the test hosts', () => {
  let dir: string;
  let run: Run;
  let report: Report;
  let engine: HostEngine;
  let tmpBefore: string[];

  before(async () => {
    const hosts = await loadTestHosts({ count: 2 });
    engine = new HostEngine(testHost(hosts, 2));
    dir = mkdtempSync(join(tmpdir(), 'holdfast-bench-smoke-'));
    tmpBefore = benchDataDirs();
    run = await runBench(['--quick', '--json', join(dir, 'report.json')]);
    try {
      report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
    } catch (err) {
      throw new Error(`bench/run.ts wrote no report (${(err as Error).message}): exit ${run.code} after ${(run.ms / 1000).toFixed(0)} s (killed at ${RUN_TIMEOUT_MS / 1000} s)\n${run.stderr.slice(-3000)}`);
    }
  });

  after(async () => {
    await engine?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const rowsOf = (what: RegExp, tool?: RegExp): Row[] => report.rows.filter((r) => what.test(r.what) && (!tool || tool.test(r.tool)));
  const measured = (r: Row) => (r.value !== undefined ? [r.value] : r.samples);

  it('finishes and says what it ran on', () => {
    assert.equal(run.code, 0, `exit ${run.code} after ${(run.ms / 1000).toFixed(0)} s\n${run.stderr.slice(-3000)}`);
    // A cold converge of compose over SSH that compose gave up on is run again, with a note; nothing else is noted.
    assert.deepEqual(report.notes.filter((n) => !/compose gave up on the first cold converge and it was run again/.test(n)), [], 'no phase failed');
    for (const key of ['date', 'cpus', 'memory', 'kernel', 'docker', 'docker-compose']) assert.ok(report.machine[key], `machine ${key}`);
    assert.match(report.machine['docker-compose']!, /^1\.29\./);
  });

  it('prints a table whose measured rows all carry numbers', () => {
    const lines = run.stdout.split('\n');
    const header = lines.findIndex((l) => /^section +figure +tool +n +median/.test(l));
    assert.ok(header >= 0, run.stdout);
    // The dashes under the header give each column's span.
    const spans = [...lines[header + 1]!.matchAll(/-+/g)].map((m) => [m.index!, m.index! + m[0].length] as const);
    const medianColumn = lines[header]!.slice(spans[4]![0], spans[4]![1]).trim();
    assert.equal(medianColumn, 'median');
    const end = lines.findIndex((l, i) => i > header && l.startsWith('notes:'));
    const body = lines.slice(header + 2, end < 0 ? undefined : end).filter((l) => l.trim());
    assert.ok(body.length >= 12, `${body.length} rows:\n${body.join('\n')}`);
    for (const line of body) {
      const medianCell = line.slice(spans[4]![0], spans[4]![1]).trim();
      assert.match(medianCell, /^\d+(\.\d+)?( (ms|s|MB|%))?$/, `the median of this row is not a number: ${line}`);
    }
    for (const row of report.rows) {
      assert.ok(measured(row).length > 0, `${row.what} (${row.tool}) has no sample`);
      for (const v of measured(row)) assert.ok(Number.isFinite(v) && v >= 0, `${row.what} (${row.tool}): ${v}`);
    }
  });

  it('compares cold converge of Holdfast with compose on the socket and over SSH, with ratios', () => {
    const cold = rowsOf(/^cold converge/);
    assert.deepEqual(cold.map((r) => r.tool).sort(), ['docker-compose over SSH', 'docker-compose, host socket', 'holdfast']);
    for (const r of cold) assert.ok(r.samples[0]! > 100, `${r.tool}: ${r.samples[0]} ms is not a converge of 5 containers`);
    const hf = cold.find((r) => r.tool === 'holdfast')!;
    assert.ok(hf.vsLocal! > 0 && hf.vsSsh! > 0, 'ratios against both compose runs');
    assert.ok(hf.target, 'the cold converge target is judged');
    // What the control plane spent meanwhile: the CPU the host's dockerd did not get.
    const [cpu] = rowsOf(/^control-plane CPU during the cold converge/);
    assert.ok(cpu && cpu.samples[0]! > 0, 'the control plane used CPU to converge');
    assert.match(cpu.note ?? '', /^Docker API calls: \d+/);
  });

  it('measures no-op and repair for Holdfast and local compose; a no-op apply runs no command on the host', () => {
    for (const what of [/^no-op re-apply \(/, /^repair: stopped container running again/]) {
      assert.deepEqual(rowsOf(what).map((r) => r.tool).sort(), ['docker-compose, host socket', 'holdfast'], String(what));
    }
    const execs = rowsOf(/^no-op re-apply: SSH execs caused/, /^holdfast$/);
    assert.equal(execs.length, 1);
    assert.deepEqual(execs[0]!.samples, [0]);
    const heal = rowsOf(/^repair: stopped container running again/, /^holdfast$/)[0]!;
    assert.ok(heal.samples[0]! < 60_000, `healed in ${heal.samples[0]} ms`);
  });

  it('reports the control plane’s memory and idle CPU', () => {
    assert.ok(rowsOf(/^RSS after first start/)[0]!.samples[0]! > 50, 'a Node process with PGlite uses more than 50 MB');
    assert.equal(rowsOf(/^idle CPU/).length, 1);
  });

  it('leaves no container, network or temporary directory of its own behind', async () => {
    const leftovers = [
      ...(await engine.containersLabelled('holdfast.dev/project', 'bench-hf')),
      ...(await engine.containersLabelled('com.docker.compose.project', 'bench-compose')),
    ];
    assert.deepEqual(leftovers, []);
    const networks = (await engine.docker.listNetworks()).map((n) => n.Name).filter((n) => n.startsWith('bench-') || n.startsWith('hf_bench-'));
    assert.deepEqual(networks, []);
    assert.deepEqual(benchDataDirs().filter((d) => !tmpBefore.includes(d)), []);
  });
});
