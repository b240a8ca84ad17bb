// Holdfast as its users run it: `holdfast serve` as a child process (its own RSS and CPU), the
// `holdfast` CLI for applying manifests, the HTTP API for reading status, and /metrics for what the
// controllers did (Docker API calls, SSH execs, reconciles, process CPU and memory).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';
import { startServeProcess, type ServeProcess } from '../../test/support/serve-process.js';
import type { TestHost } from '../../test/support/testhosts.js';
import { parsePrometheusText, sumOf, type Sample } from './prometheus-text.js';
import type { RunResult } from './compose-tool.js';

const API = '/apis/holdfast.dev/v1alpha1';
const CLI = join(packageRoot(), 'bin', 'holdfast.js');

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface ServiceObject {
  metadata: { name: string; namespace: string; generation?: number; uid?: string; deletionTimestamp?: string };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; conditions?: Condition[]; readyReplicas?: number; replicas?: number; drift?: { count?: number } };
}

export function conditionOf(obj: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** Ready=True for the current generation. */
export function isReady(s: ServiceObject): boolean {
  const ready = conditionOf(s, 'Ready');
  return ready?.status === 'True' && (s.status?.observedGeneration ?? 0) >= (s.metadata.generation ?? 1);
}

/** What the control plane's process uses, from /proc (VmHWM: the peak resident set so far). */
export interface ProcessMemory {
  rssBytes: number;
  peakRssBytes: number;
}

/** A counter snapshot from /metrics, for differences over a window. */
export interface MetricsSnapshot {
  at: number;
  samples: Sample[];
}

export class HoldfastControlPlane {
  private readonly killOnExit = () => this.serve.child.kill('SIGKILL');

  private constructor(private readonly serve: ServeProcess) {
    // Should the benchmark die without stopping it, the server (which heals) must not outlive it.
    process.once('exit', this.killOnExit);
  }

  /** `holdfast serve` on a free port; with `dataDir`, on that directory (left in place on stop). */
  static async start(opts: { env?: Record<string, string>; dataDir?: string } = {}): Promise<HoldfastControlPlane> {
    return new HoldfastControlPlane(await startServeProcess({ env: opts.env, dataDir: opts.dataDir }));
  }

  get pid(): number {
    return this.serve.child.pid!;
  }

  get url(): string {
    return this.serve.url;
  }

  /** Undefined while the server runs; else how it ended and the end of its log. */
  exitInfo(): string | undefined {
    const { exitCode, signalCode } = this.serve.child;
    if (exitCode === null && signalCode === null) return undefined;
    return `holdfast serve exited (${exitCode !== null ? `code ${exitCode}` : signalCode}); its last output:\n${this.serve.output().trim().split('\n').slice(-25).join('\n')}`;
  }

  /** The server's log so far (warnings and errors; it runs with --log-level warn). */
  log(): string {
    return this.serve.output();
  }

  /** Runs the `holdfast` CLI against this control plane. */
  cli(args: string[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.serve.dataDir, HOLDFAST_URL: this.serve.url, HOLDFAST_TOKEN: this.serve.token },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        signal: opts.signal,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
    });
  }

  /** `holdfast …`, throwing with the CLI's own message when it fails. */
  async mustCli(args: string[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<RunResult> {
    const res = await this.cli(args, opts);
    if (res.code !== 0) {
      const tail = (res.stderr.trim() || res.stdout.trim()).split('\n').slice(-5).join(' | ');
      throw new Error(`holdfast ${args.join(' ')} failed with exit ${res.code ?? 'signal'}: ${tail}`);
    }
    return res;
  }

  /** `holdfast apply -f DIR` of manifests already applied: its time; throws when it changed anything. */
  async noopApply(dir: string): Promise<number> {
    const res = await this.mustCli(['apply', '-f', dir], { timeoutMs: 5 * 60_000 });
    if (/ (created|configured)$/m.test(res.stdout)) throw new Error(`holdfast apply of unchanged manifests changed something:\n${res.stdout}`);
    return res.ms;
  }

  /** Requests that failed on the connection (reset or closed by the server) and were sent again. */
  connectionFailures = 0;

  /**
   * One HTTP request with the admin token. A request that fails on the connection itself (the
   * server reset or closed it) is sent again, up to 3 times, and counted.
   */
  private async send(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<{ status: number; text: string; attempt: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(this.serve.url + path, {
          method,
          headers: { authorization: `Bearer ${this.serve.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: signal ?? AbortSignal.timeout(60_000),
        });
        return { status: res.status, text: await res.text(), attempt };
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const onConnection = cause?.code === 'ECONNRESET' || cause?.code === 'UND_ERR_SOCKET' || /other side closed/.test(String(cause?.message));
        if (!onConnection || attempt >= 3 || this.serve.child.exitCode !== null) throw new Error(`${method} ${path}: ${(err as Error).message}${cause?.code ? ` (${cause.code})` : ''}`);
        this.connectionFailures++;
      }
    }
  }

  /** An API call; a GET is safe to repeat, a POST applied before a reset comes back 409, which `tolerateConflict` accepts. */
  async api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, opts: { tolerateConflict?: boolean } = {}): Promise<T> {
    const res = await this.send(method, path, body, signal);
    if (res.status === 409 && res.attempt > 1 && opts.tolerateConflict) return undefined as T;
    if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
    return (res.text ? JSON.parse(res.text) : undefined) as T;
  }

  async services(project: string, signal?: AbortSignal): Promise<ServiceObject[]> {
    return (await this.api<{ items: ServiceObject[] }>('GET', `${API}/namespaces/${project}/services`, undefined, signal)).items;
  }

  async scrape(signal?: AbortSignal): Promise<MetricsSnapshot> {
    const res = await this.send('GET', '/metrics', undefined, signal ?? AbortSignal.timeout(60_000));
    if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
    return { at: performance.now(), samples: parsePrometheusText(res.text) };
  }

  memory(): ProcessMemory {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  }

  /** Starts the peak (VmHWM) over from the current resident set, to see the peak of one phase. */
  resetPeakMemory(): void {
    writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
  }

  /** Stores the test hosts' key as an SSHKey and declares each host as a Server, host key pinned. */
  async addServers(servers: Array<{ name: string; host: TestHost }>, keyName: string, signal?: AbortSignal): Promise<void> {
    await this.mustCli(['access-assets', 'ssh-key', 'create', '--name', keyName, '--private-key-file', servers[0]!.host.privateKeyPath], { timeoutMs: 60_000, signal });
    for (const { name, host } of servers) {
      await this.api('POST', `${API}/servers`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'Server',
        metadata: { name },
        spec: { kind: 'docker-engine', host: host.address, port: host.port, user: host.user, sshKeyRef: { name: keyName }, hostKeyFingerprint: host.hostKeyFingerprint },
      }, signal);
    }
  }

  async waitServersReady(names: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(names.map((n) => this.api<{ status?: { conditions?: Condition[] } }>('GET', `${API}/servers/${n}`)));
      const notReady = states.map((s, i) => [names[i], conditionOf(s, 'Ready')] as const).filter(([, c]) => c?.status !== 'True');
      if (notReady.length === 0) return;
      if (Date.now() > deadline) throw new Error(`servers not Ready after ${timeoutMs / 1000} s: ${notReady.map(([n, c]) => `${n}: ${c?.reason ?? 'no condition'} ${c?.message ?? ''}`).join('; ')}`);
      await sleep(250);
    }
  }

  /**
   * Waits until `count` Services of the project exist and all are Ready for their generation
   * (polling the API every `pollMs`); resolves with performance.now() at the first look that saw it.
   */
  async waitAllReady(project: string, count: number, opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal }): Promise<number> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const items = await this.services(project, opts.signal);
      const ready = items.filter(isReady).length;
      if (items.length === count && ready === count) return performance.now();
      if (Date.now() > deadline) {
        const stuck = items.filter((s) => !isReady(s)).slice(0, 3).map((s) => {
          const c = conditionOf(s, 'Ready');
          return `${s.metadata.name}: ${c?.reason ?? 'no Ready condition'} ${c?.message ?? ''}`;
        });
        throw new Error(`${ready}/${count} services of project ${project} Ready after ${opts.timeoutMs / 1000} s (${items.length} exist); e.g. ${stuck.join('; ')}`);
      }
      await sleep(opts.pollMs ?? 100, opts.signal);
    }
  }

  /** Deletes every Service of the project and waits until they are gone (their finalizers ran). */
  async deleteServices(project: string, opts: { timeoutMs: number; onDeleted?: () => Promise<void> }): Promise<void> {
    const items = await this.services(project);
    for (const s of items) await this.api('DELETE', `${API}/namespaces/${project}/services/${s.metadata.name}`).catch((err: Error) => {
      if (!/HTTP 404/.test(err.message)) throw err;
    });
    await opts.onDeleted?.();
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const left = await this.services(project);
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${left.length} services of project ${project} still exist ${opts.timeoutMs / 1000} s after their deletion`);
      await sleep(250);
    }
  }

  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    await this.serve.stop();
  }
}

/** Differences of the counters that matter between two scrapes. */
export interface CounterDelta {
  seconds: number;
  dockerApiCalls: number;
  sshExecs: number;
  reconciles: number;
  /** Of those, how many asked to be looked at again later (requeueAfter) or failed. */
  requeued: number;
  failed: number;
  reconcileSeconds: number;
  cpuSeconds: number;
}

export function counterDelta(from: MetricsSnapshot, to: MetricsSnapshot, reconcileKind = 'Service'): CounterDelta {
  const d = (name: string, match: Record<string, string> = {}) => sumOf(to.samples, name, match) - sumOf(from.samples, name, match);
  return {
    seconds: (to.at - from.at) / 1000,
    dockerApiCalls: d('holdfast_docker_api_calls_total'),
    sshExecs: d('holdfast_ssh_execs_total'),
    reconciles: d('holdfast_reconcile_duration_seconds_count', { kind: reconcileKind }),
    requeued: d('holdfast_reconcile_duration_seconds_count', { kind: reconcileKind, outcome: 'requeue' }),
    failed: d('holdfast_reconcile_duration_seconds_count', { kind: reconcileKind, outcome: 'error' }),
    reconcileSeconds: d('holdfast_reconcile_duration_seconds_sum', { kind: reconcileKind }),
    cpuSeconds: d('holdfast_process_cpu_seconds_total'),
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok, fail) => {
    const t = setTimeout(ok, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      fail(signal.reason);
    }, { once: true });
  });
}
