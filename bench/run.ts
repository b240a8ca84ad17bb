// Holdfast against what users would pick instead (Debian's docker-compose 1.29, on the host's socket
// and over SSH), on the project's test hosts, side by side in one run:
//
//   1. cold converge of N services from empty
//   2. no-op re-apply, and the steady state (reconciles, Docker API calls, SSH execs per reconcile)
//   3. repair of a container stopped behind the tool's back
//   4. drift detection latency (bench/drift-latency.ts, when it exists)
//   5. control-plane CPU and RSS: idle, and with many declared Services
//   6. how long a `holdfast` command takes to start and exit, against Node's own start
//   7. 1, 2 and 3 replicas on PostgreSQL (bench/replicas.ts): converge rate, takeover, CPU and RSS
//
//   node --import tsx bench/run.ts [--sizes 10,50] [--quick] [--repeats 3] [--tools …] [--json F] [--markdown F]
//
// Prints a table of medians and ratios on stdout, progress on stderr. Everything it creates on the
// hosts carries a bench- name or project label and is removed at the end (and before it starts).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../core/package-root.js';
import { loadTestHosts, testHost, type TestHost } from '../test/support/testhosts.js';
import { COMPOSE_MODES, ensureDockerCompose, SSH_SERVICES_PER_UP, type ComposeMode } from './lib/compose-tool.js';
import { ComposeContender, HoldfastContender, type Contender } from './lib/contenders.js';
import { parseDriftLatencyOutput, parseObserveCostOutput, parseReplicasOutput } from './lib/script-output.js';
import { counterDelta, HoldfastControlPlane, isReady, sleep, type MetricsSnapshot } from './lib/holdfast-tool.js';
import { HostEngine } from './lib/host-engine.js';
import { describeMachine, loadAverage } from './lib/machine.js';
import { sumOf } from './lib/prometheus-text.js';
import { addRatios, renderMarkdown, renderText, valueOf, type Report, type Row } from './lib/report.js';
import { median } from './lib/stats.js';
import { writeHoldfastManifests, type Workload } from './lib/workload.js';

const PHASES = ['restart', 'idle', 'cli-start', 'noop', 'repair', 'steady', 'drift-latency', 'observe-cost', 'scale', 'replicas'] as const;
type Phase = (typeof PHASES)[number];
const TOOLS = ['holdfast', 'compose-local', 'compose-ssh', 'compose-ssh-mux'] as const;
type Tool = (typeof TOOLS)[number];

const HOLDFAST_PROJECT = 'bench-hf';
const COMPOSE_PROJECT = 'bench-compose';
const SCALE_PROJECT = 'bench-scale';
const ENVIRONMENT = 'bench';
const CONVERGE_FIRST_PORT = 41001;
const SCALE_FIRST_PORT = 42001;
const MB = 2 ** 20;

const USAGE = `usage: node --import tsx bench/run.ts [options]
  --sizes 10,50            services per cold-converge size (default 10,50)
  --quick                  smallest run: size 5, one repeat, compose over SSH cold converge only,
                           no restart/steady/drift-latency/observe-cost/scale/replicas phases (the
                           smoke test's run)
  --repeats N              repeats per measurement for medians (default 3)
  --ssh-repeats N          repeats for compose over SSH, whose runs take minutes (default 1)
  --ssh-phases-max-size N  compose over SSH does no-op and repair up to this size only (default 10)
  --tools LIST             ${TOOLS.join(',')} (default: all but compose-ssh-mux)
  --scale N                declared Services for the CPU/RSS phase (default 1000)
  --scale-running N        of which run a container (default 100; the rest declare replicas 0)
  --steady-seconds S       steady-state window at the largest size and at scale, one resync interval
                           and a bit (default 62)
  --idle-seconds S         idle window (default 20)
  --scale-wait S           how long the scale phase waits for all Services to be Ready (default 240)
  --skip LIST              phases to leave out: ${PHASES.join(',')}
  --host N                 test host for the converge comparisons (default 2)
  --scale-hosts LIST       test hosts the scale phase spreads Services over (default 1,2)
  --replicas-hosts LIST    test hosts the replicas phase declares as Servers (default 1,2,3)
  --json FILE              also write the report as JSON
  --markdown FILE          also write the table as Markdown`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function positiveInts(flag: string, value: string): number[] {
  const list = value.split(',').map((v) => v.trim()).filter(Boolean).map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 0)) fail(`${flag} takes comma-separated whole numbers, not "${value}"`);
  return list;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const list = value.split(',').map((v) => v.trim()).filter(Boolean);
  for (const v of list) if (!allowed.includes(v as T)) fail(`${flag}: unknown "${v}" (one of ${allowed.join(', ')})`);
  return list as T[];
}

function parseOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        sizes: { type: 'string' },
        quick: { type: 'boolean', default: false },
        repeats: { type: 'string' },
        'ssh-repeats': { type: 'string' },
        'ssh-phases-max-size': { type: 'string' },
        tools: { type: 'string' },
        scale: { type: 'string' },
        'scale-running': { type: 'string' },
        'steady-seconds': { type: 'string' },
        'idle-seconds': { type: 'string' },
        'scale-wait': { type: 'string' },
        skip: { type: 'string' },
        host: { type: 'string' },
        'scale-hosts': { type: 'string' },
        'replicas-hosts': { type: 'string' },
        json: { type: 'string' },
        markdown: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const quick = v.quick ?? false;
  const one = (flag: string, value: string | undefined, fallback: number) => (value === undefined ? fallback : positiveInts(flag, value)[0]!);
  const skip = new Set<Phase>(v.skip ? oneOf('--skip', v.skip, PHASES) : quick ? ['restart', 'steady', 'drift-latency', 'observe-cost', 'scale', 'replicas'] : []);
  const options = {
    quick,
    sizes: v.sizes ? positiveInts('--sizes', v.sizes).filter((n) => n > 0) : quick ? [5] : [10, 50],
    repeats: Math.max(1, one('--repeats', v.repeats, quick ? 1 : 3)),
    sshRepeats: Math.max(1, one('--ssh-repeats', v['ssh-repeats'], 1)),
    sshPhasesMaxSize: one('--ssh-phases-max-size', v['ssh-phases-max-size'], quick ? 0 : 10),
    tools: v.tools ? oneOf('--tools', v.tools, TOOLS) : (['holdfast', 'compose-local', 'compose-ssh'] as Tool[]),
    scale: skip.has('scale') ? 0 : one('--scale', v.scale, 1000),
    scaleRunning: one('--scale-running', v['scale-running'], 100),
    steadySeconds: skip.has('steady') ? 0 : one('--steady-seconds', v['steady-seconds'], 62),
    idleSeconds: skip.has('idle') ? 0 : one('--idle-seconds', v['idle-seconds'], quick ? 5 : 20),
    scaleWaitSeconds: one('--scale-wait', v['scale-wait'], 240),
    skip,
    host: one('--host', v.host, 2),
    scaleHosts: v['scale-hosts'] ? positiveInts('--scale-hosts', v['scale-hosts']) : [1, 2],
    replicasHosts: v['replicas-hosts'] ? positiveInts('--replicas-hosts', v['replicas-hosts']) : [1, 2, 3],
    json: v.json,
    markdown: v.markdown,
  };
  if (options.sizes.length === 0) fail('--sizes names no size above 0');
  if (options.scaleRunning > options.scale) options.scaleRunning = options.scale;
  return options;
}

type Options = ReturnType<typeof parseOptions>;

const began = performance.now();
function progress(message: string): void {
  const s = ((performance.now() - began) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}

const serverName = (host: TestHost) => `bench-h${host.index}`;
const toolLabel = (tool: Tool) => (tool === 'holdfast' ? 'holdfast' : COMPOSE_MODES[tool.replace('compose-', '') as ComposeMode]);
const isSsh = (tool: Tool) => tool === 'compose-ssh' || tool === 'compose-ssh-mux';

class Bench {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  /** The notes that say a phase or a tool's run failed: any makes the run exit 1. */
  readonly failures: string[] = [];
  private readonly engines = new Map<number, HostEngine>();
  private plane?: HoldfastControlPlane;
  /** Docker API calls per minute with servers connected and nothing declared (other tenants' events, polls). */
  private idleApiCallsPerMinute?: number;
  private dataDir?: string;

  constructor(
    private readonly opts: Options,
    /** By the index the options name (HOLDFAST_TESTHOSTS_OFFSET may run them on other hosts). */
    private readonly hosts: ReadonlyMap<number, TestHost>,
    private readonly workDir: string,
  ) {
    for (const [index, h] of hosts) this.engines.set(index, new HostEngine(h));
  }

  engine(index: number): HostEngine {
    const e = this.engines.get(index);
    if (!e) throw new Error(`test host ${index} is not running`);
    return e;
  }

  row(row: Omit<Row, 'samples'> & { samples: number[] | number }): void {
    this.rows.push({ ...row, samples: Array.isArray(row.samples) ? row.samples : [row.samples] });
  }

  /** Runs one phase; a failure becomes a note and the run goes on with the next phase. */
  async phase(name: string, body: () => Promise<void>): Promise<void> {
    progress(`${name}: start (load average ${loadAverage()})`);
    try {
      await body();
      progress(`${name}: done`);
    } catch (err) {
      const exit = this.plane?.exitInfo();
      const message = `${(err as Error).message ?? String(err)}${exit ? `\n${exit}` : ''}`;
      progress(`${name}: FAILED: ${message}`);
      this.fail(`${name} failed: ${message}`);
      // A control plane that died cannot serve the phases after this one.
      if (exit) this.plane = undefined;
    }
  }

  /** Removes whatever earlier (interrupted) runs left on the hosts. */
  async cleanHosts(): Promise<void> {
    for (const e of this.engines.values()) {
      await e.removeAll('holdfast.dev/project', HOLDFAST_PROJECT, `hf_${HOLDFAST_PROJECT}_`);
      await e.removeAll('holdfast.dev/project', SCALE_PROJECT, `hf_${SCALE_PROJECT}_`);
      await e.removeAll('com.docker.compose.project', COMPOSE_PROJECT, `${COMPOSE_PROJECT}_`);
    }
  }

  get holdfast(): HoldfastControlPlane {
    if (!this.plane) throw new Error('the control plane is not running');
    return this.plane;
  }

  // ---- control plane: first start, restart, idle ---------------------------------------------

  async startControlPlane(): Promise<void> {
    this.dataDir = mkdtempSync(join(tmpdir(), 'bench-holdfast-data-'));
    let plane = await HoldfastControlPlane.start({ dataDir: this.dataDir });
    const first = plane.memory();
    this.row({ section: 'control plane', what: 'RSS after first start (initdb)', tool: 'holdfast', unit: 'MB', samples: first.rssBytes / MB, target: { text: '< 300 MB', met: first.rssBytes / MB < 300 } });
    this.row({ section: 'control plane', what: 'peak RSS during first start', tool: 'holdfast', unit: 'MB', samples: first.peakRssBytes / MB });
    if (!this.opts.skip.has('restart')) {
      await plane.stop();
      plane = await HoldfastControlPlane.start({ dataDir: this.dataDir });
      const again = plane.memory();
      this.row({ section: 'control plane', what: 'RSS after a restart (data dir exists)', tool: 'holdfast', unit: 'MB', samples: again.rssBytes / MB, target: { text: '< 300 MB', met: again.rssBytes / MB < 300 } });
    }
    this.plane = plane;
    const servers = [...this.hosts.values()].map((host) => ({ name: serverName(host), host }));
    await plane.addServers(servers, 'bench-key');
    await plane.waitServersReady(servers.map((s) => s.name), 120_000);
  }

  async idle(): Promise<void> {
    await sleep(2000);
    const window = await this.window(this.opts.idleSeconds);
    this.idleApiCallsPerMinute = (window.delta.dockerApiCalls / window.delta.seconds) * 60;
    this.row({ section: 'control plane', what: `idle CPU (servers connected, nothing declared, ${this.opts.idleSeconds} s)`, tool: 'holdfast', unit: '%', samples: window.cpuPercent });
    this.row({ section: 'control plane', what: 'idle Docker API calls per minute', tool: 'holdfast', unit: 'count', samples: this.idleApiCallsPerMinute, note: 'live-state re-reads on Docker events (the hosts are shared with other runs) and Server readiness polls' });
    this.row({ section: 'control plane', what: 'idle RSS', tool: 'holdfast', unit: 'MB', samples: window.rssMb, target: { text: '< 300 MB', met: window.rssMb < 300 } });
  }

  /**
   * Scrapes /metrics every 2 s until stopped: the largest event-loop delay between scrapes (prom-client
   * resets its histogram on each scrape) and the largest resident set.
   */
  private sample(): { stop(): Promise<{ maxLagMs: number; maxRssMb: number; scrapes: number; failedScrapes: number }> } {
    let stopped = false;
    const stats = { maxLagMs: 0, maxRssMb: 0, scrapes: 0, failedScrapes: 0 };
    const loop = (async () => {
      while (!stopped) {
        try {
          const snap = await this.holdfast.scrape();
          stats.scrapes++;
          stats.maxLagMs = Math.max(stats.maxLagMs, sumOf(snap.samples, 'holdfast_nodejs_eventloop_lag_max_seconds') * 1000);
          stats.maxRssMb = Math.max(stats.maxRssMb, sumOf(snap.samples, 'holdfast_process_resident_memory_bytes') / MB);
        } catch {
          stats.failedScrapes++;
        }
        await sleep(2000);
      }
    })();
    return {
      async stop() {
        stopped = true;
        await loop;
        return stats;
      },
    };
  }

  /** Scrapes /metrics every 2 s for `seconds`; CPU share, median RSS, counter differences, resync burst. */
  private async window(seconds: number) {
    const snaps: MetricsSnapshot[] = [await this.holdfast.scrape()];
    const end = performance.now() + seconds * 1000;
    let failedScrapes = 0;
    while (performance.now() < end) {
      await sleep(Math.min(2000, Math.max(0, end - performance.now())));
      // A scrape lost to a stalled server leaves a gap; the differences span the scrapes that worked.
      const snap = await this.holdfast.scrape().catch(() => undefined);
      if (snap) snaps.push(snap);
      else failedScrapes++;
    }
    if (snaps.length < 2) throw new Error(`no /metrics scrape succeeded in the ${seconds} s window`);
    const first = snaps[0]!;
    const last = snaps.at(-1)!;
    const delta = counterDelta(first, last);
    const rss = snaps.map((s) => sumOf(s.samples, 'holdfast_process_resident_memory_bytes') / MB);
    const maxLagMs = Math.max(...snaps.slice(1).map((s) => sumOf(s.samples, 'holdfast_nodejs_eventloop_lag_max_seconds') * 1000));
    // The resync burst: from the first to the last scrape interval in which reconciles happened.
    const busy: number[] = [];
    for (let i = 1; i < snaps.length; i++) {
      if (counterDelta(snaps[i - 1]!, snaps[i]!).reconciles > 0) busy.push(i);
    }
    const burstSeconds = busy.length ? (snaps[busy.at(-1)!]!.at - snaps[busy[0]! - 1]!.at) / 1000 : 0;
    return { delta, last, cpuPercent: (delta.cpuSeconds / delta.seconds) * 100, rssMb: median(rss)!, burstSeconds, maxLagMs, failedScrapes };
  }

  // ---- CLI start ------------------------------------------------------------------------------

  /**
   * Wall time of `holdfast --version` and `holdfast get services` (against the control plane), from
   * spawn to exit, interleaved with `node -e 0` (Node's own start: the floor of any Node CLI).
   */
  async cliStart(): Promise<void> {
    const runs = this.opts.quick ? 3 : 10;
    const floor: number[] = [];
    const version: number[] = [];
    const get: number[] = [];
    for (let i = 0; i < runs; i++) {
      floor.push(await nodeStartMs());
      version.push((await this.holdfast.mustCli(['--version'], { timeoutMs: 30_000 })).ms);
      get.push((await this.holdfast.mustCli(['get', 'services'], { timeoutMs: 30_000 })).ms);
    }
    const section = 'CLI start';
    const target = (samples: number[]) => ({ text: '< 150 ms', met: median(samples)! < 150 });
    this.row({ section, what: '`holdfast --version` (spawn to exit)', tool: 'holdfast', unit: 'ms', samples: version, target: target(version) });
    this.row({ section, what: '`holdfast get services` (spawn to exit)', tool: 'holdfast', unit: 'ms', samples: get, target: target(get) });
    this.row({ section, what: '`node -e 0` (the floor)', tool: 'node', unit: 'ms', samples: floor });
  }

  // ---- converge, no-op, repair, steady state --------------------------------------------------

  private contender(tool: Tool, size: number): Contender {
    const engine = this.engine(this.opts.host);
    const dir = join(this.workDir, `size-${size}`);
    if (tool === 'holdfast') {
      const w: Workload = { project: HOLDFAST_PROJECT, environment: ENVIRONMENT, servers: [serverName(engine.host)], count: size, firstHostPort: CONVERGE_FIRST_PORT, driftMode: 'heal' };
      return new HoldfastContender(this.holdfast, engine, w, dir);
    }
    const w: Workload = { project: COMPOSE_PROJECT, environment: ENVIRONMENT, servers: [], count: size, firstHostPort: CONVERGE_FIRST_PORT };
    return new ComposeContender(tool.replace('compose-', '') as ComposeMode, engine, w, dir);
  }

  async size(size: number): Promise<void> {
    const { opts } = this;
    const cold = new Map<Tool, number[]>();
    const noop = new Map<Tool, number[]>();
    const restart = new Map<Tool, number[]>();
    const reported = new Map<Tool, number[]>();
    const noopCost = { reconciles: [] as number[], execs: [] as number[], apiCalls: [] as number[], requests: [] as number[] };
    const convergeCost = { cpuMs: [] as number[], apiCalls: [] as number[] };
    const push = (m: Map<Tool, number[]>, t: Tool, v: number) => m.set(t, [...(m.get(t) ?? []), v]);
    const contenders = new Map(opts.tools.map((t) => [t, this.contender(t, size)] as const));
    const failed = new Set<Tool>();
    try {
      for (let rep = 1; rep <= opts.repeats; rep++) {
        for (const [tool, c] of contenders) {
          if ((isSsh(tool) && rep > opts.sshRepeats) || failed.has(tool)) continue;
          const label = `${size} services, ${c.label}, run ${rep}`;
          try {
            await this.measure(tool, c, size, rep, label, { cold, noop, restart, reported, noopCost, convergeCost, push });
          } catch (err) {
            // One tool failing says something about that tool; the others are still measured.
            failed.add(tool);
            const message = (err as Error).message ?? String(err);
            progress(`${label}: FAILED: ${message}`);
            this.fail(`${size} services, ${c.label}, run ${rep} failed: ${message}`);
            await c.teardown().catch(() => undefined);
          }
        }
      }
    } finally {
      for (const c of contenders.values()) if (c instanceof ComposeContender) await c.close();
    }
    const section = `${size} services`;
    const local = toolLabel('compose-local');
    const ssh = toolLabel('compose-ssh');
    for (const [tool, samples] of cold) {
      const c = contenders.get(tool);
      const note = c instanceof ComposeContender && c.batched
        ? `${Math.ceil(size / SSH_SERVICES_PER_UP)} \`up -d\` calls of ≤ ${SSH_SERVICES_PER_UP} services one after another: one call for all ${size} fails against a stock sshd (MaxStartups)`
        : undefined;
      this.row({ section, what: 'cold converge (apply until all run/Ready)', tool: toolLabel(tool), unit: 'ms', samples, ...(note ? { note } : {}) });
    }
    if (convergeCost.cpuMs.length) {
      // On a machine of few cores the control plane's CPU is taken from dockerd's: part of the gap to compose.
      this.row({ section, what: 'control-plane CPU during the cold converge', tool: 'holdfast', unit: 'ms', samples: convergeCost.cpuMs, note: `Docker API calls: ${convergeCost.apiCalls.join(', ')}` });
    }
    for (const [tool, samples] of noop) this.row({ section, what: 'no-op re-apply (command time)', tool: toolLabel(tool), unit: 'ms', samples });
    if (noopCost.execs.length) {
      this.row({ section, what: 'no-op re-apply: SSH execs caused', tool: 'holdfast', unit: 'count', samples: noopCost.execs, target: { text: '0', met: noopCost.execs.every((n) => n === 0) } });
      this.row({ section, what: 'no-op re-apply: reconciles / Docker API calls caused', tool: 'holdfast', unit: 'count', samples: noopCost.reconciles, note: `Docker API calls: ${noopCost.apiCalls.join(', ')}; API requests of the CLI: ${noopCost.requests.join(', ')}` });
    }
    for (const [tool, samples] of restart) this.row({ section, what: 'repair: stopped container running again', tool: toolLabel(tool), unit: 'ms', samples });
    for (const [tool, samples] of reported) {
      this.row({ section, what: tool === 'holdfast' ? 'repair: until Ready with no drift in the API' : 'repair: until `up -d` returned', tool: toolLabel(tool), unit: 'ms', samples });
    }
    // Targets, now that the compose medians are known.
    const sectionRows = this.rows.filter((r) => r.section === section);
    addRatios(sectionRows, { local, ssh });
    for (const r of sectionRows) {
      if (r.tool !== 'holdfast') continue;
      if (r.what.startsWith('cold converge')) {
        // Issue 22's: the fixed cost of a control plane weighs most on few Services.
        const localBound = size < 50 ? 1.2 : 1.0;
        const parts = [r.vsLocal !== undefined ? r.vsLocal <= localBound : undefined, r.vsSsh !== undefined ? r.vsSsh <= 0.05 : undefined].filter((x) => x !== undefined);
        if (parts.length) r.target = { text: `≤ ${localBound.toFixed(1)}× local, ≤ 0.05× ssh`, met: parts.every(Boolean) };
      } else if (r.what.startsWith('no-op re-apply (') && r.vsLocal !== undefined) {
        r.target = { text: '≤ 0.3× local', met: r.vsLocal <= 0.3 };
      } else if (r.what.startsWith('repair: stopped')) {
        r.target = { text: '< 2 s', met: (valueOf(r) ?? Infinity) < 2000 };
      }
    }
  }

  /** Cold converge, no-op and repair of one tool, once; then its teardown. */
  /**
   * Compose over SSH opens an SSH connection per Engine API request; on a loaded machine sshd drops
   * some of them (MaxStartups) and compose gives up. Such a cold converge is torn down and run once
   * more from nothing, and a note says so; a second give-up fails the tool's run.
   */
  private async coldConverge(tool: Tool, c: Contender, label: string): Promise<number> {
    if (!isSsh(tool)) return c.coldConverge();
    try {
      return await c.coldConverge();
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      progress(`${label}: compose gave up on the cold converge (${message}); torn down and run once more`);
      this.notes.push(`${label}: compose gave up on the first cold converge and it was run again (${message})`);
      await c.teardown();
      return c.coldConverge();
    }
  }

  private fail(note: string): void {
    this.notes.push(note);
    this.failures.push(note);
  }

  private async measure(
    tool: Tool,
    c: Contender,
    size: number,
    rep: number,
    label: string,
    into: {
      cold: Map<Tool, number[]>;
      noop: Map<Tool, number[]>;
      restart: Map<Tool, number[]>;
      reported: Map<Tool, number[]>;
      noopCost: { reconciles: number[]; execs: number[]; apiCalls: number[]; requests: number[] };
      convergeCost: { cpuMs: number[]; apiCalls: number[] };
      push: (m: Map<Tool, number[]>, t: Tool, v: number) => void;
    },
  ): Promise<void> {
    const { opts } = this;
    const { cold, noop, restart, reported, noopCost, convergeCost, push } = into;
    await c.teardown();
    progress(`${label}: cold converge`);
    const beforeConverge = tool === 'holdfast' ? await this.holdfast.scrape() : undefined;
    push(cold, tool, await this.coldConverge(tool, c, label));
    if (beforeConverge) {
      const d = counterDelta(beforeConverge, await this.holdfast.scrape());
      convergeCost.cpuMs.push(Math.round(d.cpuSeconds * 1000));
      convergeCost.apiCalls.push(d.dockerApiCalls);
    }
    progress(`${label}: cold converge ${(cold.get(tool)!.at(-1)! / 1000).toFixed(2)} s`);
    const fullPhases = !isSsh(tool) || size <= opts.sshPhasesMaxSize;
    if (fullPhases && !opts.skip.has('noop')) {
      await sleep(1000);
      const before = tool === 'holdfast' ? await this.holdfast.scrape() : undefined;
      push(noop, tool, await c.noop());
      if (before) {
        await sleep(1000);
        const after = await this.holdfast.scrape();
        const d = counterDelta(before, after);
        noopCost.reconciles.push(d.reconciles);
        noopCost.execs.push(d.sshExecs);
        noopCost.apiCalls.push(d.dockerApiCalls);
        noopCost.requests.push(sumOf(after.samples, 'holdfast_api_requests_total') - sumOf(before.samples, 'holdfast_api_requests_total'));
      }
      progress(`${label}: no-op ${(noop.get(tool)!.at(-1)! / 1000).toFixed(2)} s`);
    }
    if (fullPhases && !opts.skip.has('repair')) {
      // Let a heal controller see the converged state first, so the stop is the only change.
      await sleep(tool === 'holdfast' ? 3000 : 500);
      const r = await c.repair(1);
      push(restart, tool, r.restartMs);
      push(reported, tool, r.reportedMs);
      progress(`${label}: repair ${(r.restartMs / 1000).toFixed(2)} s`);
    }
    // One steady-state window, at the largest size (the scale phase has its own): each costs a resync interval.
    if (tool === 'holdfast' && rep === opts.repeats && opts.steadySeconds > 0 && size === Math.max(...opts.sizes)) await this.steady(size);
    await c.teardown();
  }

  /** One steady-state window over the converged services: what reconciling them costs with nothing to do. */
  private async steady(size: number): Promise<void> {
    progress(`${size} services: steady-state window of ${this.opts.steadySeconds} s`);
    await this.holdfast.waitAllReady(HOLDFAST_PROJECT, size, { timeoutMs: 120_000 });
    await sleep(3000);
    const w = await this.window(this.opts.steadySeconds);
    this.steadyRows(`${size} services`, w, size);
  }

  private steadyRows(section: string, w: Awaited<ReturnType<Bench['window']>>, declared: number): void {
    const { delta } = w;
    const per = (n: number) => (delta.reconciles > 0 ? n / delta.reconciles : NaN);
    const seconds = Math.round(delta.seconds);
    const heap = (name: string) => sumOf(w.last.samples, name) / MB;
    this.row({
      section,
      what: `steady state: reconciles in ${seconds} s (service + drift controllers)`,
      tool: 'holdfast',
      unit: 'count',
      samples: delta.reconciles,
      note: `${declared} Services declared; ${delta.requeued} asked to requeue, ${delta.failed} failed; reconciles spread over ${w.burstSeconds.toFixed(0)} s of the window`,
    });
    this.row({ section, what: 'steady state: mean reconcile time', tool: 'holdfast', unit: 'ms', samples: per(delta.reconcileSeconds * 1000) });
    this.row({
      section,
      what: 'steady state: Docker API calls per reconcile',
      tool: 'holdfast',
      unit: 'count',
      samples: per(delta.dockerApiCalls),
      note: `all ${delta.dockerApiCalls} calls of the window over its reconciles; idle rate ${this.idleApiCallsPerMinute?.toFixed(0) ?? '?'} per minute with nothing declared`,
    });
    this.row({ section, what: 'steady state: SSH execs per reconcile', tool: 'holdfast', unit: 'count', samples: per(delta.sshExecs), note: `${delta.sshExecs} execs in the window, Server readiness polls included` });
    this.row({ section, what: 'steady state: control-plane CPU (share of one core)', tool: 'holdfast', unit: '%', samples: w.cpuPercent, target: { text: '< 5 %', met: w.cpuPercent < 5 } });
    this.row({ section, what: 'steady state: longest event-loop stall', tool: 'holdfast', unit: 'ms', samples: w.maxLagMs, ...(w.failedScrapes ? { note: `${w.failedScrapes} scrapes of /metrics failed in the window` } : {}) });
    this.row({
      section,
      what: 'steady state: control-plane RSS',
      tool: 'holdfast',
      unit: 'MB',
      samples: w.rssMb,
      target: { text: '< 300 MB', met: w.rssMb < 300 },
      // The server thread's heap only: the embedded store's WebAssembly memory is its own thread's.
      note: `server thread: JS heap used ${heap('holdfast_nodejs_heap_size_used_bytes').toFixed(0)} MB, external memory ${heap('holdfast_nodejs_external_memory_bytes').toFixed(0)} MB`,
    });
  }

  // ---- drift detection latency (bench/drift-latency.ts) ----------------------------------------

  async driftLatency(): Promise<void> {
    const script = join(packageRoot(), 'bench', 'drift-latency.ts');
    const changes = 50;
    if (!existsSync(script)) {
      this.notes.push('drift detection latency: not measured, bench/drift-latency.ts does not exist in this checkout');
      return;
    }
    const output = await runScript(script, [String(changes)], 15 * 60_000);
    if (output.code !== 0) throw new Error(`bench/drift-latency.ts exited with ${output.code}: ${output.text.trim().split('\n').slice(-3).join(' | ')}`);
    const figures = parseDriftLatencyOutput(output.text);
    if (figures.series.length === 0) {
      this.notes.push(`drift detection latency: bench/drift-latency.ts printed no median/p99 this runner could read:\n${output.text.trim()}`);
      return;
    }
    const section = 'drift (bench/drift-latency.ts)';
    const described: Record<string, string> = {
      driftDetection: 'change on the host → drift in GET …/views',
      driftRecorded: 'change on the host → Service status.drift',
      driftCleared: 'change undone → drift gone from …/views',
      dockerEvent: "Docker's own event on the host socket (floor)",
      text: 'change on the host → drift visible',
    };
    for (const s of figures.series) {
      const what = described[s.name] ?? s.name;
      const n = s.samples !== undefined ? { n: s.samples } : {};
      if (s.medianMs !== undefined) this.row({ section, what: `${what}, median`, tool: 'holdfast', unit: 'ms', samples: [], value: s.medianMs, ...n });
      if (s.p99Ms !== undefined) {
        const headline = s.name === 'driftDetection' || s.name === 'text';
        this.row({ section, what: `${what}, p99`, tool: 'holdfast', unit: 'ms', samples: [], value: s.p99Ms, ...n, ...(headline ? { target: { text: '< 1 s', met: s.p99Ms < 1000 } } : {}) });
      }
    }
    if (figures.healRunningMs?.length) {
      const heal = median(figures.healRunningMs)!;
      this.row({ section, what: 'heal: killed container running again (no restart policy)', tool: 'holdfast', unit: 'ms', samples: figures.healRunningMs, target: { text: '< 2 s', met: heal < 2000 } });
    }
    if (figures.healResolvedMs?.length) this.row({ section, what: 'heal: until no drift in the API', tool: 'holdfast', unit: 'ms', samples: figures.healResolvedMs });
  }

  /** What one observation of a host costs: bench/observe-cost.ts on the converge host, its medians. */
  async observeCost(): Promise<void> {
    const script = join(packageRoot(), 'bench', 'observe-cost.ts');
    if (!existsSync(script)) {
      this.notes.push('observe cost: not measured, bench/observe-cost.ts does not exist in this checkout');
      return;
    }
    const output = await runScript(script, ['--hosts', String(this.opts.host)], 5 * 60_000);
    if (output.code !== 0) throw new Error(`bench/observe-cost.ts exited with ${output.code}: ${output.text.trim().split('\n').slice(-3).join(' | ')}`);
    const rows = parseObserveCostOutput(output.text);
    if (rows.length === 0) throw new Error(`bench/observe-cost.ts printed no table this runner could read:\n${output.text.trim()}`);
    for (const r of rows) {
      this.row({ section: 'observe cost (bench/observe-cost.ts)', what: `${r.method} (${r.host})`, tool: 'transport', unit: 'ms', samples: [], value: r.medianMs, n: r.calls, note: `p90 ${r.p90Ms} ms` });
    }
  }

  // ---- many declared Services -------------------------------------------------------------------

  async scale(): Promise<void> {
    const { scale, scaleRunning, scaleHosts } = this.opts;
    const plane = this.holdfast;
    const w: Workload = {
      project: SCALE_PROJECT,
      environment: ENVIRONMENT,
      servers: scaleHosts.map((i) => serverName(this.engine(i).host)),
      count: scale,
      running: scaleRunning,
      firstHostPort: SCALE_FIRST_PORT,
      driftMode: 'report',
    };
    const section = `${scale} declared services`;
    // Declared as a GitOps checkout is: one file a Service, applied by the CLI in one command.
    const manifests = writeHoldfastManifests(w, join(this.workDir, `scale-${scale}`));
    plane.resetPeakMemory();
    const failuresBefore = plane.connectionFailures;
    const sampler = this.sample();
    const started = performance.now();
    let declared = started;
    let readyAt = started;
    let notReady = false;
    try {
      await plane.mustCli(['apply', '-f', manifests], { timeoutMs: 5 * 60_000 });
      declared = performance.now();
      progress(`${scale} Services applied in ${((declared - started) / 1000).toFixed(1)} s; waiting for all to be Ready`);
      try {
        readyAt = await plane.waitAllReady(SCALE_PROJECT, scale, { timeoutMs: this.opts.scaleWaitSeconds * 1000, pollMs: 2000 });
      } catch (err) {
        if (plane.exitInfo()) throw err;
        // Not all Ready within the budget: say how far it got, and measure CPU and memory anyway.
        const ready = await plane.services(SCALE_PROJECT).then((items) => items.filter(isReady).length, () => NaN);
        this.row({ section, what: `Ready after ${this.opts.scaleWaitSeconds} s`, tool: 'holdfast', unit: 'count', samples: ready, target: { text: `${scale}`, met: false }, note: (err as Error).message });
        notReady = true;
      }
    } finally {
      const stats = await sampler.stop();
      const peak = plane.exitInfo() ? undefined : plane.memory().peakRssBytes / MB;
      const failures = plane.connectionFailures - failuresBefore;
      if (declared > started) this.row({ section, what: `\`holdfast apply -f\` of ${scale + 1} manifest files, to stored`, tool: 'holdfast', unit: 'ms', samples: declared - started, target: { text: '< 5 s', met: declared - started < 5000 } });
      if (readyAt > started) this.row({ section, what: `until all Ready (${scaleRunning} run a container, ${scale - scaleRunning} replicas 0)`, tool: 'holdfast', unit: 'ms', samples: readyAt - started });
      if (peak !== undefined) this.row({ section, what: 'peak RSS while converging', tool: 'holdfast', unit: 'MB', samples: peak, target: { text: '< 300 MB', met: peak < 300 } });
      this.row({ section, what: 'longest event-loop stall while converging', tool: 'holdfast', unit: 'ms', samples: stats.maxLagMs, note: `max of holdfast_nodejs_eventloop_lag_max_seconds over ${stats.scrapes} scrapes (${stats.failedScrapes} failed)` });
      this.row({ section, what: 'API requests failed on the connection while converging', tool: 'holdfast', unit: 'count', samples: failures, target: { text: '0', met: failures === 0 }, note: 'reset or closed by the server; each was sent again' });
    }
    if (this.opts.steadySeconds > 0) {
      await sleep(3000);
      const win = await this.window(this.opts.steadySeconds);
      this.steadyRows(notReady ? `${section} (still converging)` : section, win, scale);
    }
    const noopMs = await plane.noopApply(manifests);
    this.row({ section, what: `\`holdfast apply -f\` of the same ${scale + 1} files again (nothing changes)`, tool: 'holdfast', unit: 'ms', samples: noopMs });
  }

  // ---- replicas on PostgreSQL (bench/replicas.ts) -----------------------------------------------

  /** bench/replicas.ts with the scale phase's Service counts, run while the single control plane is stopped. */
  async replicas(): Promise<void> {
    const script = join(packageRoot(), 'bench', 'replicas.ts');
    // Its replicas would share the hosts (and the CPU) with this run's control plane: stop that first.
    if (this.plane) await this.plane.stop();
    this.plane = undefined;
    const declared = this.opts.scale || 1000;
    const args = ['--hosts', this.opts.replicasHosts.join(','), '--declared', String(declared), '--steady-seconds', String(this.opts.steadySeconds || 60)];
    const output = await runScript(script, args, 60 * 60_000);
    if (output.code !== 0) throw new Error(`bench/replicas.ts exited with ${output.code}: ${output.text.trim().split('\n').slice(-3).join(' | ')}`);
    const figures = parseReplicasOutput(output.text);
    if (!figures) throw new Error(`bench/replicas.ts printed no figures this runner could read:\n${output.text.trim()}`);
    const section = `replicas on PostgreSQL (bench/replicas.ts, ${figures.declared} declared)`;
    for (const f of figures.replicas) {
      const tool = `${f.replicas} replica${f.replicas > 1 ? 's' : ''}`;
      const load = `load average ${f.loadAverage}`;
      this.row({ section, what: `Services converged per second (${figures.running} changed at once)`, tool, unit: 'count', samples: f.convergedPerSecond, note: `${f.convergeMs} ms; ${load}` });
      this.row({ section, what: `steady CPU per replica (share of one core, ${figures.steadySeconds} s)`, tool, unit: '%', samples: f.cpuPercent, target: { text: '< 5 %', met: f.cpuPercent.every((c) => c < 5) }, note: `each replica: ${f.cpuPercent.join(' / ')}; ${f.reconcilesPerMinute} Service reconciles a minute in all` });
      this.row({ section, what: 'steady RSS per replica', tool, unit: 'MB', samples: f.rssMb, target: { text: '< 150 MB', met: f.rssMb.every((r) => r < 150) }, note: `median of 1 s samples, each replica: ${f.rssMb.join(' / ')}; highest ${(f.rssMaxMb ?? []).join(' / ')}` });
      if (f.takeoverMs !== undefined) {
        const bound = (figures.leaseSeconds + figures.renewSeconds) * 1000;
        this.row({ section, what: `shard takeover after kill -9 (lease ${figures.leaseSeconds} s, renew ${figures.renewSeconds} s)`, tool, unit: 'ms', samples: f.takeoverMs, target: { text: `≤ ${bound} ms`, met: f.takeoverMs <= bound } });
      }
    }
  }

  async close(): Promise<void> {
    if (this.plane) await this.plane.stop().catch(() => undefined);
    this.plane = undefined;
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    await this.cleanHosts().catch((err) => progress(`cleanup on the hosts failed: ${(err as Error).message}`));
    for (const e of this.engines.values()) await e.close();
  }
}

/** Node's own start and exit, as `holdfast` commands are timed (spawn to close). */
function nodeStartMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // The environment the CLI runs in (bench/lib/holdfast-tool.ts): an inherited NODE_EXTRA_CA_CERTS
    // alone makes Node read a CA bundle before its first line, ~40 ms here.
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`node -e 0 exited with ${code}`))));
  });
}

/** Runs another bench script under tsx; its stdout is returned, its stderr passed through. */
function runScript(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, text }));
  });
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const startedAt = new Date().toISOString();
  const hostIndexes = [opts.host, ...(opts.scale > 0 ? opts.scaleHosts : [])];
  progress(`test hosts ${[...new Set(hostIndexes)].join(', ')}: starting if needed`);
  const described = await loadTestHosts({ count: Math.max(...hostIndexes) });
  const hosts = new Map(hostIndexes.map((i) => [i, testHost(described, i)] as const));
  const composeVersion = opts.tools.some((t) => t !== 'holdfast') ? await ensureDockerCompose(progress) : 'not used';
  const workDir = mkdtempSync(join(tmpdir(), 'bench-run-'));
  const bench = new Bench(opts, hosts, workDir);
  let machine: Record<string, string> = {};
  const stopSignals = () => {
    progress('interrupted: cleaning up');
    void bench.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopSignals);
  process.once('SIGTERM', stopSignals);
  try {
    machine = await describeMachine(bench.engine(opts.host).docker, composeVersion);
    await bench.cleanHosts();
    await bench.phase('control plane start', () => bench.startControlPlane());
    if (opts.idleSeconds > 0) await bench.phase('idle', () => bench.idle());
    if (!opts.skip.has('cli-start')) await bench.phase('CLI start', () => bench.cliStart());
    for (const size of opts.sizes) await bench.phase(`${size} services`, () => bench.size(size));
    if (!opts.skip.has('drift-latency')) await bench.phase('drift detection latency', () => bench.driftLatency());
    if (!opts.skip.has('observe-cost')) await bench.phase('observe cost', () => bench.observeCost());
    if (opts.scale > 0) await bench.phase(`${opts.scale} declared services`, () => bench.scale());
    if (!opts.skip.has('replicas')) await bench.phase('replicas on PostgreSQL', () => bench.replicas());
  } finally {
    await bench.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  machine['load average at end'] = loadAverage();
  const report: Report = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    options: { ...opts, skip: [...opts.skip] },
    rows: bench.rows,
    notes: bench.notes,
  };
  const header = Object.entries(machine).map(([k, v]) => `${k}: ${v}`).join('\n');
  process.stdout.write(`${header}\n\n${renderText(report.rows)}`);
  if (report.notes.length) process.stdout.write(`\n${report.notes.map((n) => `! ${n}`).join('\n')}\n`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
  if (opts.markdown) writeFileSync(opts.markdown, `${Object.entries(machine).map(([k, v]) => `- ${k}: ${v}`).join('\n')}\n\n${renderMarkdown(report.rows)}${report.notes.map((n) => `\n> ${n}`).join('')}\n`);
  progress(`finished in ${((performance.now() - began) / 1000 / 60).toFixed(1)} min`);
  process.exitCode = bench.failures.length ? 1 : 0;
}

await main();
