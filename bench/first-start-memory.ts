// What the control plane keeps resident after its first start on an empty data directory (the
// embedded database is initialised then) and after a restart on the same directory.
//
//   node --import tsx bench/first-start-memory.ts [--runs 1] [--idle 20]
//
// Starts the built CLI (`holdfast serve`, dist/) on a new data directory, waits for its API, and
// reads VmRSS and VmHWM (the peak) from /proc/PID/status right after the start and after `--idle`
// seconds; while it starts, the largest resident set of any of its child processes is sampled
// every 50 ms. Then the same for a restart. Needs no test hosts.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HoldfastControlPlane, sleep } from './lib/holdfast-tool.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, idle: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const idleSeconds = Number(values.idle);
const MB = 1024 * 1024;

function statusKb(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  } catch {
    return 0; // the process ended between listing and reading
  }
}

/** The pids whose parent is `pid` (scans /proc: no `ps` needed). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Watches the process tree below the calling process while `start` runs: the largest VmRSS any
 * grandchild (the server's own children) reached.
 */
async function withChildPeak<T>(start: () => Promise<T>): Promise<{ value: T; childPeakMb: number }> {
  let peakKb = 0;
  const timer = setInterval(() => {
    for (const server of childrenOf(process.pid)) {
      for (const child of childrenOf(server)) peakKb = Math.max(peakKb, statusKb(child, 'VmRSS'));
    }
  }, 50);
  try {
    return { value: await start(), childPeakMb: peakKb / 1024 };
  } finally {
    clearInterval(timer);
  }
}

interface Measured {
  startSeconds: number;
  rssAfterStartMb: number;
  peakMb: number;
  rssAfterIdleMb: number;
  childPeakMb: number;
}

async function measure(dataDir: string): Promise<Measured> {
  const started = performance.now();
  const { value: plane, childPeakMb } = await withChildPeak(() => HoldfastControlPlane.start({ dataDir }));
  try {
    const startSeconds = (performance.now() - started) / 1000;
    const after = plane.memory();
    await sleep(idleSeconds * 1000);
    const idle = plane.memory();
    return { startSeconds, rssAfterStartMb: after.rssBytes / MB, peakMb: idle.peakRssBytes / MB, rssAfterIdleMb: idle.rssBytes / MB, childPeakMb };
  } finally {
    await plane.stop();
  }
}

const rows: Array<{ run: number; start: string } & Measured> = [];
for (let run = 1; run <= runs; run++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-first-start-'));
  try {
    rows.push({ run, start: 'first (empty data dir)', ...(await measure(dataDir)) });
    rows.push({ run, start: 'restart (data dir exists)', ...(await measure(dataDir)) });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const f = (n: number) => n.toFixed(0);
console.log(`| run | start | start time | RSS after start | RSS after ${idleSeconds} s idle | peak RSS (VmHWM) | largest child RSS |`);
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.run} | ${r.start} | ${r.startSeconds.toFixed(1)} s | ${f(r.rssAfterStartMb)} MB | ${f(r.rssAfterIdleMb)} MB | ${f(r.peakMb)} MB | ${r.childPeakMb ? f(r.childPeakMb) + ' MB' : '–'} |`);
}
