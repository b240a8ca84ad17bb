// Scale-out on PostgreSQL: 1, 2 and 3 replicas of `holdfast serve` sharing one database, with the
// test hosts declared as Servers (sharded over the replicas). The Services are declared once, with the
// first replica: --running of them run one busybox httpd container each (spread over the servers), the
// rest up to --declared have replicas 0 (declared, reconciled and judged, but no container), so 1000
// declared need not mean 1000 containers on the test hosts. Then for each replica count (replicas are
// added to reach it):
//
//   converge    Services converged per second: every running Service changed at once (an env value),
//               until every one has rolled out and is Ready
//   steady      CPU (share of one core) and RSS of each replica over --steady-seconds, nothing to do
//   takeover    kill -9 of the replica holding the first server's shard: time until another replica
//               holds it (lease duration + renew interval, by default the product's 15 s / 5 s); a
//               new replica then takes the killed one's place
//   profile     with one replica, a CPU profile of a second steady window (through the replica's
//               inspector): the top functions by self time, and what holds its memory after a full GC;
//               a fresh replica then takes its place (the heap snapshot leaves its memory swollen)
//   database    on PostgreSQL, the transactions committed a minute over the steady window (all
//               replicas together): the steady cost in round trips, whatever the machine's load
//
//   node --import tsx bench/replicas.ts [--replicas 1,2,3] [--declared 1000] [--running 30]
//        [--steady-seconds 60] [--settle-seconds 3] [--hosts 1,2,3] [--lease-seconds 15] [--renew-seconds 5]
//        [--cpuprofile FILE]   also writes the one-replica profile whole (for DevTools)
//        [--smoke]
//        [--embedded]   one replica on the embedded store (PGlite) instead, for comparison
//
// Progress goes to stderr; stdout gets one line per figure and, last, the figures as one JSON line
// (what bench/run.ts reads). Everything it creates on the hosts carries the project label bench-replicas.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SHARD_COUNT, shardLeaseName, shardOf, shardOfLease } from '../core/lease/shards.js';
import { createDatabase, startPostgres } from '../test/support/postgres.js';
import { loadTestHosts, testHost, type TestHost } from '../test/support/testhosts.js';
import { counterDelta, HoldfastControlPlane, sleep, type MetricsSnapshot } from './lib/holdfast-tool.js';
import { HostEngine, parallel } from './lib/host-engine.js';
import { loadAverage } from './lib/machine.js';
import { median } from './lib/stats.js';
import pg from 'pg';
import { heapSummary, inspectorUrl, memoryBreakdown, profileFor, topSelfTime } from './lib/cpu-profile.js';
import { packageRoot } from '../core/package-root.js';
import type { ReplicaFigures } from './lib/script-output.js';
import { projectManifest, serviceManifest, serviceName, type Workload } from './lib/workload.js';

const API = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'bench-replicas';
const MB = 2 ** 20;
/** Services declared per apply request. */
const APPLY_BATCH = 100;

const { values } = parseArgs({
  options: {
    replicas: { type: 'string' },
    declared: { type: 'string' },
    running: { type: 'string' },
    'steady-seconds': { type: 'string' },
    'settle-seconds': { type: 'string' },
    cpuprofile: { type: 'string' },
    hosts: { type: 'string', default: '1,2,3' },
    'lease-seconds': { type: 'string' },
    'renew-seconds': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    embedded: { type: 'boolean', default: false },
  },
});
const smoke = values.smoke ?? false;
const number = (v: string | undefined, fallback: number) => {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bench/replicas.ts: not a whole number: ${v}`);
  return n;
};
const opts = {
  embedded: values.embedded ?? false,
  replicas: values.embedded ? [1] : (values.replicas ?? (smoke ? '1,2' : '1,2,3')).split(',').map((v) => number(v, 1)),
  declared: number(values.declared, smoke ? 20 : 1000),
  running: number(values.running, smoke ? 3 : 30),
  steadySeconds: number(values['steady-seconds'], smoke ? 6 : 60),
  settleSeconds: number(values['settle-seconds'], 3),
  hosts: values.hosts.split(',').map((v) => number(v, 1)),
  leaseSeconds: number(values['lease-seconds'], smoke ? 3 : 15),
  renewSeconds: number(values['renew-seconds'], smoke ? 1 : 5),
};
opts.running = Math.min(opts.running, opts.declared);

const began = performance.now();
function progress(message: string): void {
  process.stderr.write(`[replicas ${((performance.now() - began) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);
}

class ReplicaSet {
  readonly planes: Array<{ id: string; plane: HoldfastControlPlane; dataDir: string }> = [];
  constructor(private readonly env: Record<string, string>) {}

  /**
   * Starts replica `id` on a fresh data directory; `inspect`: with its inspector open on a free
   * loopback port, to be profiled.
   */
  async start(id: string, inspect = false): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-replica-'));
    // The admin token lives in the database; later replicas are given the file the first wrote.
    if (this.planes.length) copyFileSync(join(this.planes[0]!.dataDir, 'admin.token'), join(dataDir, 'admin.token'));
    const nodeOptions: Record<string, string> = inspect ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim() } : {};
    const plane = await HoldfastControlPlane.start({ dataDir, env: { ...this.env, ...nodeOptions, HOLDFAST_REPLICA_ID: id } });
    this.planes.push({ id, plane, dataDir });
  }

  /**
   * Starts a fresh replica `next`, then stops `id` (SIGTERM: it hands its shards over): a replica
   * that has been profiled keeps the heap snapshot's memory, which would swell the later figures.
   */
  async replace(id: string, next: string): Promise<void> {
    await this.start(next);
    const [gone] = this.planes.splice(this.planes.findIndex((p) => p.id === id), 1);
    await gone!.plane.stop();
    rmSync(gone!.dataDir, { recursive: true, force: true });
  }

  get any(): HoldfastControlPlane {
    return this.planes[0]!.plane;
  }

  /** kill -9 of a replica: it is gone from the set at once. */
  kill(id: string): void {
    const i = this.planes.findIndex((p) => p.id === id);
    const [gone] = this.planes.splice(i, 1);
    process.kill(gone!.plane.pid, 'SIGKILL');
    rmSync(gone!.dataDir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    for (const p of this.planes) {
      await p.plane.stop().catch(() => undefined);
      rmSync(p.dataDir, { recursive: true, force: true });
    }
  }
}

/**
 * One database for every replica count, in rising order: the Services are declared once (with the
 * first replica), then each count is reached by starting more replicas. Converging is a rollout of
 * the running Services (a changed env value); `pgUrl` undefined: one replica on the embedded store.
 */
async function measureAll(pgUrl: string | undefined, hosts: TestHost[]): Promise<ReplicaFigures[]> {
  const databaseUrl = pgUrl ? await createDatabase(pgUrl, `bench_replicas_${randomBytes(4).toString('hex')}`) : undefined;
  const set = new ReplicaSet({
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HOLDFAST_LEASE_DURATION_SECONDS: String(opts.leaseSeconds),
    HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS: String(opts.renewSeconds),
  });
  const figures: ReplicaFigures[] = [];
  const store = databaseUrl ? 'postgres' : 'embedded';
  try {
    const counts = [...new Set(opts.replicas)].sort((a, b) => a - b);
    await set.start('bench-replica-1', true);
    const api = set.any;
    const servers = hosts.map((host) => ({ name: `bench-r${host.index}`, host }));
    await api.addServers(servers, 'bench-replicas-key');
    await api.waitServersReady(servers.map((s) => s.name), 120_000);
    const w: Workload = { project: PROJECT, environment: 'bench', servers: servers.map((s) => s.name), count: opts.declared, running: opts.running, firstHostPort: 43001, driftMode: 'report' };
    await api.api('POST', `${API}/projects`, projectManifest(w));
    const servicesPath = `${API}/namespaces/${PROJECT}/services`;
    const running = Array.from({ length: opts.running }, (_, i) => i + 1);
    let started = performance.now();
    await parallel(running, 8, (i) => api.api('POST', servicesPath, serviceManifest(w, i), undefined, { tolerateConflict: true }));
    const coldMs = (await api.waitAllReady(PROJECT, opts.running, { timeoutMs: 300_000, pollMs: 250 })) - started;
    progress(`1 replica: ${opts.running} Services created and Ready in ${(coldMs / 1000).toFixed(1)} s; declaring the other ${opts.declared - opts.running}`);
    started = performance.now();
    // Through the one-request apply, a batch at a time: one transaction per batch instead of a request per Service.
    const rest = Array.from({ length: opts.declared - opts.running }, (_, i) => opts.running + i + 1);
    for (let at = 0; at < rest.length; at += APPLY_BATCH) {
      await api.api('POST', `${API}/apply`, { apiVersion: 'v1', kind: 'List', items: rest.slice(at, at + APPLY_BATCH).map((i) => serviceManifest(w, i)) });
    }
    await api.waitAllReady(PROJECT, opts.declared, { timeoutMs: 30 * 60_000, pollMs: 2000 });
    const declareMs = performance.now() - started;
    progress(`1 replica: ${opts.declared} Services Ready (${((declareMs) / 1000).toFixed(0)} s to declare the rest)`);

    for (const count of counts) {
      // A replica that stays: the takeover of the count before may have killed the first.
      const api = set.any;
      while (set.planes.length < count) await set.start(`bench-replica-${set.planes.length + 1}`);
      if (databaseUrl) await balanced(api, set.planes.map((p) => p.id));
      // Converge: every running Service changed at once, until all have rolled out and are Ready.
      started = performance.now();
      await parallel(running, 8, (i) => {
        const manifest = serviceManifest(w, i) as { spec: { env: object[] } };
        manifest.spec.env = [...manifest.spec.env, { name: 'BENCH_ROUND', value: String(count) }];
        return api.api('PUT', `${servicesPath}/${serviceName(i)}`, manifest);
      });
      await api.waitAllReady(PROJECT, opts.declared, { timeoutMs: 600_000, pollMs: 250 });
      const convergeMs = performance.now() - started;
      progress(`${count} replica(s): ${opts.running} Services rolled out in ${(convergeMs / 1000).toFixed(1)} s; steady window of ${opts.steadySeconds} s`);

      // Steady: a window with nothing to do; with one replica, profiled.
      await sleep(opts.settleSeconds * 1000);
      const first = await Promise.all(set.planes.map((p) => p.plane.scrape()));
      const commitsBefore = databaseUrl ? await commits(databaseUrl) : undefined;
      // RSS is sampled each second: V8 grows its heap ahead of collecting it, so one reading at the
      // window's end may fall anywhere between a collection's floor and the next one's peak.
      const rssSamples: number[][] = set.planes.map(() => []);
      for (let s = 0; s < opts.steadySeconds; s++) {
        await sleep(1000);
        set.planes.forEach((p, i) => rssSamples[i]!.push(p.plane.memory().rssBytes));
      }
      set.planes.forEach((p, i) => progress(`${p.id}: RSS each second of the window (MB): ${rssSamples[i]!.map((b) => Math.round(b / MB)).join(' ')}`));
      const last = await Promise.all(set.planes.map((p) => p.plane.scrape()));
      const databaseCommits = commitsBefore !== undefined && databaseUrl ? (await commits(databaseUrl)) - commitsBefore : undefined;
      // The profile takes a second window: sampling costs CPU of its own, which the figures above leave out.
      const inspector = count === 1 ? inspectorUrl(set.planes[0]!.plane.log()) : undefined;
      const cpuProfile = inspector ? await profileFor(inspector, opts.steadySeconds * 1000) : undefined;
      if (cpuProfile && values.cpuprofile) writeFileSync(values.cpuprofile, JSON.stringify(cpuProfile));
      const profile = cpuProfile ? topSelfTime(cpuProfile, 10, `${packageRoot()}/`) : undefined;
      const memory = inspector ? await memoryBreakdown(inspector) : undefined;
      const heap = inspector ? await heapSummary(inspector) : undefined;
      const deltas = set.planes.map((_, i) => counterDelta(first[i]!, last[i]!));
      const f: ReplicaFigures = {
        replicas: count,
        store,
        ...(count === counts[0] ? { coldMs: round(coldMs, 0), declareMs: round(declareMs, 0) } : {}),
        convergedPerSecond: round(opts.running / (convergeMs / 1000), 2),
        convergeMs: round(convergeMs, 0),
        cpuPercent: deltas.map((d) => round((d.cpuSeconds / d.seconds) * 100, 1)),
        rssMb: rssSamples.map((samples) => round(median(samples)! / MB, 0)),
        rssMaxMb: rssSamples.map((samples) => round(Math.max(...samples) / MB, 0)),
        reconcilesPerMinute: round(deltas.reduce((sum, d) => sum + (d.reconciles / d.seconds) * 60, 0), 0),
        reconcilesByController: reconcilesByController(first, last),
        ...(databaseCommits !== undefined ? { databaseCommitsPerMinute: round((databaseCommits / deltas[0]!.seconds) * 60, 0) } : {}),
        ...(heap ? { heap } : {}),
        ...(memory ? { memoryMb: Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, round(v / MB, 1)])) } : {}),
        loadAverage: loadAverage(),
        ...(profile ? { profile } : {}),
      };
      if (count > 1) {
        f.takeoverMs = await takeover(set, servers[0]!.name);
        progress(`${count} replica(s): taken over ${f.takeoverMs} ms after kill -9`);
        // Back to `count` replicas (the killed one's identity starts again) for the next count.
        await set.start(`bench-replica-killed-${count}`);
      }
      figures.push(f);
      report(f);
      if (inspector && count !== counts.at(-1)) await set.replace(set.planes[0]!.id, 'bench-replica-1-unprofiled');
    }
    return figures;
  } finally {
    await set.stop();
  }
}

/** kill -9 of the replica holding the server's shard: milliseconds until another replica holds it. */
async function takeover(set: ReplicaSet, server: string): Promise<number> {
  const uid = (await set.any.api<{ metadata: { uid: string } }>('GET', `${API}/servers/${server}`)).metadata.uid;
  const lease = shardLeaseName(shardOf(uid));
  const holderOf = async () => (await set.any.api<{ spec?: { holderIdentity?: string } }>('GET', `${API}/leases/${lease}`)).spec?.holderIdentity;
  const holderId = await holderOf();
  if (!set.planes.some((p) => p.id === holderId)) throw new Error(`${lease} is held by ${holderId ?? 'nobody'}, not by a replica of this run`);
  // The API is asked through a replica that stays.
  if (set.planes[0]!.id === holderId) set.planes.push(set.planes.shift()!);
  set.kill(holderId!);
  const killed = performance.now();
  for (;;) {
    const now = await holderOf().catch(() => holderId);
    if (now && now !== holderId) return round(performance.now() - killed, 0);
    if (performance.now() - killed > 120_000) throw new Error(`${lease} not taken over 120 s after kill -9 of ${holderId}`);
    await sleep(100);
  }
}

function report(f: ReplicaFigures): void {
  process.stdout.write(
    `${f.replicas} replica(s), ${f.store}: ${f.convergedPerSecond} Services converged/s (${opts.running} rolled out in ${f.convergeMs} ms); ` +
      `with ${opts.declared} declared: CPU ${f.cpuPercent.join(' / ')} % of a core, RSS ${f.rssMb.join(' / ')} MB (max ${f.rssMaxMb.join(' / ')}), ${f.reconcilesPerMinute} Service reconciles/min; ` +
      `takeover after kill -9 ${f.takeoverMs === undefined ? 'n/a' : `${f.takeoverMs} ms`}; ` +
      `${f.databaseCommitsPerMinute === undefined ? '' : `${f.databaseCommitsPerMinute} database commits/min; `}load ${f.loadAverage}\n`,
  );
  process.stdout.write(`reconciles over the steady window by controller: ${Object.entries(f.reconcilesByController ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}\n`);
  if (f.heap) process.stdout.write(`heap by what holds it (self size):\n${f.heap.map((h) => `  ${h.mb.toFixed(1).padStart(6)} MB  ${String(h.count).padStart(7)}  ${h.what}`).join('\n')}\n`);
  if (f.memoryMb) process.stdout.write(`memory after a full GC (MB): ${Object.entries(f.memoryMb).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
  if (f.profile) process.stdout.write(`top functions by self time over the steady window:\n${f.profile.map((p) => `  ${p.ms.toFixed(0).padStart(7)} ms  ${p.percent.toFixed(1).padStart(5)} %  ${p.fn}`).join('\n')}\n`);
}

/** Waits until every shard is held, none by a replica beyond its share: rollouts then stay where they start. */
async function balanced(api: HoldfastControlPlane, ids: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { items } = await api.api<{ items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }> }>('GET', `${API}/leases`);
    const shards = items.filter((l) => shardOfLease(l.metadata.name) !== undefined);
    const counts = ids.map((id) => shards.filter((l) => l.spec.holderIdentity === id).length);
    if (counts.every((n) => n <= Math.ceil(SHARD_COUNT / ids.length)) && counts.reduce((a, b) => a + b, 0) === SHARD_COUNT) return;
    if (Date.now() > deadline) throw new Error(`shards not balanced over ${ids.join(', ')} after 120 s: ${counts.join(' / ')}`);
    await sleep(250);
  }
}

/** Reconciles over the window per controller, all replicas together (which controllers' work the window held). */
function reconcilesByController(first: MetricsSnapshot[], last: MetricsSnapshot[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (snapshots: MetricsSnapshot[], sign: number) => {
    for (const { samples } of snapshots) {
      for (const s of samples) if (s.name === 'holdfast_reconcile_duration_seconds_count') out[s.labels.controller!] = (out[s.labels.controller!] ?? 0) + sign * s.value;
    }
  };
  add(last, 1);
  add(first, -1);
  return Object.fromEntries(Object.entries(out).filter(([, n]) => n > 0));
}

/** Transactions the database has committed or rolled back so far (PostgreSQL's statistics, all connections). */
async function commits(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()');
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function main(): Promise<void> {
  const described = await loadTestHosts({ count: Math.max(...opts.hosts) });
  const hosts = opts.hosts.map((i) => testHost(described, i));
  const engines = hosts.map((h) => new HostEngine(h));
  const clean = () => Promise.all(engines.map((e) => e.removeAll('holdfast.dev/project', PROJECT, `hf_${PROJECT}_`)));
  const pg = opts.embedded ? undefined : await startPostgres();
  let figures: ReplicaFigures[] = [];
  try {
    await clean();
    figures = await measureAll(pg?.url, hosts);
  } finally {
    await clean().catch(() => undefined);
    await pg?.stop();
    for (const e of engines) await e.close();
  }
  process.stdout.write(JSON.stringify({ declared: opts.declared, running: opts.running, steadySeconds: opts.steadySeconds, leaseSeconds: opts.leaseSeconds, renewSeconds: opts.renewSeconds, replicas: figures }) + '\n');
}

await main();
