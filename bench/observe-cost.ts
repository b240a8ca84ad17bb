// What observing a host costs: listing its containers through the Engine API over the kept SSH
// session, against running `docker ps` as a shell command — over the same kept session, and the way
// many tools do it, as a fresh `ssh host docker ps` per call.
//
//   node --import tsx bench/observe-cost.ts [--hosts 1,2] [--calls 200] [--execs 20]
//
// Runs against the test hosts (started if needed); prints one table, medians in milliseconds.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DockerClient } from '../hosts/docker-client.js';
import { SshDockerTransport } from '../hosts/docker-transport.js';
import { SshCommandRunner, expectSuccess } from '../hosts/exec.js';
import { SshSession } from '../hosts/ssh-session.js';
import { loadTestHosts, readPrivateKey, type TestHost } from '../test/support/testhosts.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1,2' },
    calls: { type: 'string', default: '200' },
    execs: { type: 'string', default: '20' },
  },
});
const hostIndexes = values.hosts.split(',').map(Number);
const apiCalls = Number(values.calls);
const execCalls = Number(values.execs);
const WARMUP = 5;

interface Row {
  host: string;
  method: string;
  calls: number;
  medianMs: number;
  p90Ms: number;
}

function summarise(host: string, method: string, samples: number[]): Row {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { host, method, calls: samples.length, medianMs: at(0.5), p90Ms: at(0.9) };
}

async function timed(times: number, action: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await action();
    samples.push(performance.now() - started);
  }
  return samples;
}

function sshDockerPs(host: TestHost, knownHosts: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'ssh',
      [
        '-i', host.privateKeyPath,
        '-o', 'BatchMode=yes',
        '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${knownHosts}`,
        '-o', 'LogLevel=ERROR',
        '-p', String(host.port),
        `${host.user}@${host.address}`,
        'docker', 'ps', '-a',
      ],
      { timeout: 30_000 },
      (error, _stdout, stderr) => (error ? reject(new Error(`ssh ${host.name} docker ps failed: ${stderr.trim() || error.message}`)) : resolve()),
    );
  });
}

async function measure(host: TestHost, knownHosts: string): Promise<Row[]> {
  const session = new SshSession({
    server: host.name,
    host: host.address,
    port: host.port,
    user: host.user,
    privateKey: readPrivateKey(host),
    hostKeyFingerprint: host.hostKeyFingerprint,
  });
  const docker = new DockerClient(new SshDockerTransport(session, host.remoteDockerSocket));
  const commands = new SshCommandRunner(session);
  try {
    const containers = (await docker.listContainers({ all: true })).length;
    const label = `${host.name} (${containers} containers)`;
    await timed(WARMUP, () => docker.listContainers({ all: true }));
    const api = await timed(apiCalls, () => docker.listContainers({ all: true }));
    const keptExec = await timed(execCalls, async () => expectSuccess(host.name, ['docker'], await commands.run(['docker', 'ps', '-a'])));
    const freshSsh = await timed(execCalls, () => sshDockerPs(host, knownHosts));
    return [
      summarise(label, 'API GET /containers/json, kept session', api),
      summarise(label, 'exec `docker ps -a`, kept session', keptExec),
      summarise(label, '`ssh host docker ps -a`, new connection each', freshSsh),
    ];
  } finally {
    await docker.close();
    await session.close();
  }
}

function printTable(rows: Row[]): void {
  const header = ['host', 'method', 'calls', 'median ms', 'p90 ms', 'x API'];
  const apiMedian = new Map(rows.filter((r) => r.method.startsWith('API')).map((r) => [r.host, r.medianMs]));
  const lines = rows.map((r) => [
    r.host,
    r.method,
    String(r.calls),
    r.medianMs.toFixed(2),
    r.p90Ms.toFixed(2),
    `${(r.medianMs / apiMedian.get(r.host)!).toFixed(0)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(format(line));
}

const described = await loadTestHosts({ count: Math.max(...hostIndexes) });
const dir = mkdtempSync(join(tmpdir(), 'hf-bench-'));
try {
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, described.hosts.map((h) => `${h.address} ${h.hostPublicKey}\n`).join(''));
  const rows: Row[] = [];
  for (const index of hostIndexes) {
    const host = described.hosts.find((h) => h.index === index);
    if (!host) throw new Error(`test host ${index} is not running`);
    rows.push(...(await measure(host, knownHosts)));
  }
  printTable(rows);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
