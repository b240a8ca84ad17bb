// Continuous readiness: after a rollout, every replica's declared http or tcp probe keeps running at
// its interval, from the host over the kept SSH session (no ssh exec), at most a few at a time per
// host. The results are records per container (core/health recordProbe); when a replica's verdict
// changes (it passes, or fails failureThreshold times in a row) its Service is woken, and its status
// is computed again from the records. Exec probes are Docker HEALTHCHECKs: the live cache reads them.
import type { ReadinessProbe } from '../../core/deploy/container-spec.js';
import { recordProbe, type ProbeRecord } from '../../core/health/index.js';
import { Semaphore } from '../../hosts/semaphore.js';
import type { HostAccess } from '../../hosts/host-access.js';
import { probeOnce, type ProbeResult } from './readiness-probe.js';

/** One replica to probe: its container as the live cache holds it. */
export interface ProbeTarget {
  container: string;
  /** State.StartedAt: a new start begins a new record. */
  startedAt?: string;
  /** The container's address on its Docker network; none while it is not running. */
  address?: string;
  probe: ReadinessProbe;
  /**
   * Probes somewhere else than the Service's host (a Swarm task on its own node): one attempt, and
   * the server whose probes it counts among. Never throws.
   */
  probeWith?: { server: string; run(signal: AbortSignal): Promise<ProbeResult> };
}

interface Tracked {
  target: ProbeTarget;
  timer?: NodeJS.Timeout;
  running: boolean;
}

interface ServiceProbes {
  host: HostAccess;
  targets: Map<string, Tracked>;
}

/** Probes running at once per host, so a host with many replicas is not flooded. */
export const PROBES_PER_HOST = 4;

export class ReadinessProber {
  private readonly services = new Map<string, ServiceProbes>();
  private readonly records = new Map<string, ProbeRecord>();
  private readonly limits = new Map<string, Semaphore>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: {
      /** Wakes the Service whose replica's verdict changed. */
      enqueue(serviceKey: string): void;
      clock?: () => Date;
      probesPerHost?: number;
    },
  ) {}

  /** Probes exactly `targets` for the Service from now on (replacing what it probed before). */
  track(serviceKey: string, host: HostAccess, targets: readonly ProbeTarget[]): void {
    if (this.stopping.signal.aborted) return;
    const current = this.services.get(serviceKey) ?? { host, targets: new Map<string, Tracked>() };
    current.host = host;
    this.services.set(serviceKey, current);
    const wanted = new Map(targets.map((t) => [t.container, t]));
    for (const [name, tracked] of current.targets) {
      if (wanted.has(name)) continue;
      clearTimeout(tracked.timer);
      current.targets.delete(name);
      this.records.delete(name);
    }
    for (const target of targets) {
      const tracked = current.targets.get(target.container);
      if (tracked) {
        tracked.target = target;
        continue;
      }
      const fresh: Tracked = { target, running: false };
      current.targets.set(target.container, fresh);
      // The first probe goes at once: the Service's status should not wait an interval to know.
      this.schedule(serviceKey, fresh, 0);
    }
  }

  /** Stops probing the Service (deleted, or nothing of it runs). */
  untrack(serviceKey: string): void {
    this.track(serviceKey, this.services.get(serviceKey)?.host as HostAccess, []);
    this.services.delete(serviceKey);
  }

  /** Stops probing every Service on a server (this replica no longer reconciles them). */
  untrackServer(server: string): void {
    for (const [key, s] of this.services) if (s.host?.server === server) this.untrack(key);
  }

  /** The records of the containers probed, by container name. */
  recordsFor(containers: readonly string[]): Map<string, ProbeRecord> {
    const out = new Map<string, ProbeRecord>();
    for (const name of containers) {
      const record = this.records.get(name);
      if (record) out.set(name, record);
    }
    return out;
  }

  /** A result observed elsewhere (the rollout's own probes) counts as one of this prober's. */
  observe(container: string, startedAt: string | undefined, probe: ReadinessProbe, result: ProbeResult): void {
    this.records.set(container, recordProbe(this.records.get(container), result, startedAt, this.now(), probe));
  }

  stop(): void {
    this.stopping.abort(new Error('control plane shutting down'));
    for (const s of this.services.values()) for (const t of s.targets.values()) clearTimeout(t.timer);
    this.services.clear();
  }

  private now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  private schedule(serviceKey: string, tracked: Tracked, delayMs: number): void {
    tracked.timer = setTimeout(() => void this.probe(serviceKey, tracked), delayMs);
    tracked.timer.unref();
  }

  private async probe(serviceKey: string, tracked: Tracked): Promise<void> {
    const service = this.services.get(serviceKey);
    if (!service || service.targets.get(tracked.target.container) !== tracked || tracked.running) return;
    tracked.running = true;
    const { target } = tracked;
    try {
      const limit = this.limitFor(target.probeWith?.server ?? service.host.server);
      const release = await limit.acquire(this.stopping.signal);
      let result: ProbeResult;
      try {
        result = target.probeWith
          ? await target.probeWith.run(this.stopping.signal)
          : target.address
          ? await probeOnce(target.probe, target.address, (a, p, s) => service.host.connectFromHost(a, p, s), this.stopping.signal)
          : { ok: false, detail: 'the container has no address on a Docker network' };
      } finally {
        release();
      }
      if (this.stopping.signal.aborted || service.targets.get(target.container) !== tracked) return;
      // Failures during the start period do not count: the application is still coming up.
      const started = Date.parse(target.startedAt ?? '');
      if (!result.ok && Number.isFinite(started) && this.now().getTime() < started + target.probe.startPeriodSeconds * 1000) return;
      const before = this.records.get(target.container);
      const after = recordProbe(before, result, target.startedAt, this.now(), target.probe);
      this.records.set(target.container, after);
      const failing = (r: ProbeRecord | undefined) => (r?.consecutiveFailures ?? 0) >= target.probe.failureThreshold;
      if (before?.passing !== after.passing || failing(before) !== failing(after) || before?.startedAt !== after.startedAt) this.deps.enqueue(serviceKey);
    } catch {
      // Only a stop aborts the wait for a slot: nothing to record.
    } finally {
      tracked.running = false;
      if (!this.stopping.signal.aborted && service.targets.get(target.container) === tracked) this.schedule(serviceKey, tracked, target.probe.intervalSeconds * 1000);
    }
  }

  private limitFor(server: string): Semaphore {
    let limit = this.limits.get(server);
    if (!limit) {
      limit = new Semaphore(this.deps.probesPerHost ?? PROBES_PER_HOST);
      this.limits.set(server, limit);
    }
    return limit;
  }
}
