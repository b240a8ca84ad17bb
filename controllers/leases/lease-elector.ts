// Holds Leases for this replica: every renew interval it reads the Leases, decides for each it takes
// part in with nextLeaseStep, and writes with compare-and-swap on resourceVersion (a lost race is a
// 409 and changes nothing). The leases it already holds are renewed together, in one write per round. A lease counts as held only until its duration has passed since the last
// renewal this replica wrote, by its own clock, so a replica that was paused stops acting before it
// learns that another took over. Stopping releases what it holds, so others take over at once.
// With shards (core/lease/shards.ts) it also renews its own heartbeat Lease, counts the live
// replicas from theirs, and holds its share of the shard Leases, handing back what is beyond it.
import { HoldfastError } from '../../core/errors.js';
import { leaseExpiry, nextLeaseStep, releasedLease } from '../../core/lease/lease-step.js';
import { isReplicaLease, planShards, replicaLeaseName, shardLeaseName } from '../../core/lease/shards.js';
import type { Resource } from '../../core/resource.js';
import type { Lease, LeaseSpec } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import type { FencingToken } from '../../store/fencing.js';
import type { ResourceStore } from '../../store/resource-store.js';

export interface LeaseElectorOptions {
  store: ResourceStore;
  /** This replica, as leases name their holder. */
  identity: string;
  /** The singleton leases to take part in. */
  names: readonly string[];
  /** How many shards servers hash into; absent or 0: no shards (every server is this replica's). */
  shards?: number;
  durationSeconds: number;
  renewIntervalSeconds: number;
  log: Logger;
  clock?: () => Date;
}

/** What controllers ask: does this replica hold a lease now, and tell me when that changes. */
export interface LeaseHolder {
  holds(name: string): boolean;
  /**
   * Held until its duration ran out, not renewed since and not given up: the renewal is late (a slow
   * round), and the next round either renews it or lets it go (telling onChange listeners).
   */
  renewalLate(name: string): boolean;
  onChange(listener: (name: string, held: boolean) => void): () => void;
  /** How many shards servers hash into; 0 when servers are not sharded. */
  readonly shardCount: number;
  /** The token writes made under a held lease carry (store/fencing.ts); undefined when not held. */
  fencingToken(name: string): FencingToken | undefined;
}

/** The controller singletons' Leases: one replica at a time runs each. */
export const SINGLETON_LEASES = { gitops: 'holdfast-gitops', backups: 'holdfast-backups', housekeeping: 'holdfast-housekeeping' } as const;

const WRITER = { actor: 'system:controller:lease', skipAudit: true };

export class LeaseElector implements LeaseHolder {
  /** When this replica last wrote each lease it holds (by its clock). */
  private readonly renewedAt = new Map<string, number>();
  /** The transition count of each lease as this replica last wrote it. */
  private readonly transitions = new Map<string, number>();
  /** The version of each lease last read, and when it was first read. */
  private readonly observed = new Map<string, { resourceVersion: string; at: Date }>();
  private readonly listeners = new Set<(name: string, held: boolean) => void>();
  private readonly clock: () => Date;
  private readonly heartbeat: string;
  private readonly shardNames: string[];
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private stopped = false;
  /** True once every lease has been looked at: this replica knows what it holds. */
  settled = false;

  constructor(private readonly opts: LeaseElectorOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.heartbeat = replicaLeaseName(opts.identity);
    this.shardNames = Array.from({ length: opts.shards ?? 0 }, (_, i) => shardLeaseName(i));
  }

  get shardCount(): number {
    return this.shardNames.length;
  }

  /** The leases this replica takes part in. */
  get names(): readonly string[] {
    return [...this.opts.names, ...(this.shardCount ? [this.heartbeat, ...this.shardNames] : [])];
  }

  holds(name: string): boolean {
    const renewed = this.renewedAt.get(name);
    return renewed !== undefined && this.clock().getTime() < renewed + this.opts.durationSeconds * 1000;
  }

  renewalLate(name: string): boolean {
    return this.renewedAt.has(name) && !this.holds(name);
  }

  fencingToken(name: string): FencingToken | undefined {
    const transitions = this.transitions.get(name);
    return this.holds(name) && transitions !== undefined ? { lease: name, holder: this.opts.identity, transitions } : undefined;
  }

  /** The shards this replica holds now. */
  heldShards(): number[] {
    return this.shardNames.flatMap((name, shard) => (this.holds(name) ? [shard] : []));
  }

  onChange(listener: (name: string, held: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Takes part in every lease once, then keeps renewing in the background. */
  async start(): Promise<void> {
    await this.runRound();
    this.settled = true;
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.runRound().finally(() => !this.stopped && tick());
      }, this.opts.renewIntervalSeconds * 1000);
      this.timer.unref();
    };
    tick();
  }

  /** Stops renewing and releases every lease held. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    for (const name of this.names) {
      if (!this.renewedAt.has(name)) continue;
      this.drop(name);
      try {
        const lease = await this.opts.store.get('Lease', undefined, name);
        if (lease) await this.release(name, lease);
      } catch (err) {
        this.opts.log.warn({ err, lease: name }, 'releasing a lease failed; it expires instead');
      }
    }
  }

  private runRound(): Promise<void> {
    this.round = (async () => {
      let leases: Map<string, Lease>;
      try {
        leases = new Map((await this.opts.store.list('Lease')).items.map((l) => [l.metadata.name, l]));
      } catch (err) {
        this.opts.log.warn({ err }, 'reading the leases failed; retrying at the next renewal');
        // Held only until its duration runs out since the last renewal that was written.
        for (const name of this.renewedAt.keys()) if (!this.holds(name)) this.drop(name);
        return;
      }
      const now = this.clock();
      for (const [name, lease] of leases) this.observe(name, lease, now);
      // The held leases with their renewed specs, pinned to the resourceVersions this round read.
      const renewals: Lease[] = [];
      for (const name of this.opts.names) {
        if (this.stopped) return;
        await this.step(name, leases.get(name), now, true, renewals);
      }
      if (this.shardCount && !this.stopped) await this.balanceShards(leases, now, renewals);
      if (!this.stopped) await this.renew(renewals, now);
    })();
    return this.round;
  }

  /** Renews this replica's heartbeat, then keeps, hands back or takes shards towards its share. */
  private async balanceShards(leases: Map<string, Lease>, now: Date, renewals: Lease[]): Promise<void> {
    await this.step(this.heartbeat, leases.get(this.heartbeat), now, true, renewals);
    let liveReplicas = 1;
    for (const [name, lease] of leases) {
      if (!isReplicaLease(name) || name === this.heartbeat) continue;
      if (this.expired(name, lease, now)) await this.forgetReplica(lease);
      else liveReplicas++;
    }
    const held: number[] = [];
    const free: number[] = [];
    this.shardNames.forEach((name, shard) => {
      const lease = leases.get(name);
      if (lease?.spec?.holderIdentity === this.opts.identity) held.push(shard);
      else if (!lease || this.expired(name, lease, now)) free.push(shard);
    });
    const plan = planShards({ held, free, liveReplicas, count: this.shardCount, identity: this.opts.identity });
    const wanted = new Set([...plan.keep, ...plan.acquire]);
    for (const [shard, name] of this.shardNames.entries()) {
      if (this.stopped) return;
      const lease = leases.get(name);
      if (plan.release.includes(shard) && lease) {
        this.drop(name);
        await this.release(name, lease).catch((err) => this.opts.log.warn({ err, lease: name }, 'handing back a shard failed; it expires instead'));
        this.opts.log.info({ lease: name, liveReplicas }, 'shard handed back: beyond this replica’s share');
      } else await this.step(name, lease, now, wanted.has(shard), renewals);
    }
  }

  /** Whether a lease is free to take by this replica's clock: released, or not renewed within its duration. */
  private expired(name: string, lease: Lease, now: Date): boolean {
    const spec = lease.spec as LeaseSpec;
    const seen = this.observed.get(name);
    return !spec.holderIdentity || !seen || now >= leaseExpiry({ spec, observedAt: seen.at }, this.opts.durationSeconds);
  }

  /** A replica whose heartbeat ended is no longer counted; its lease is removed so the list stays short. */
  private async forgetReplica(lease: Lease): Promise<void> {
    try {
      await this.opts.store.delete('Lease', undefined, lease.metadata.name, WRITER, { resourceVersion: lease.metadata.resourceVersion });
      this.observed.delete(lease.metadata.name);
    } catch {
      // Another replica removed or renewed it first.
    }
  }

  /** Records when this replica first read this version of a lease. */
  private observe(name: string, lease: Lease, now: Date): Date {
    const seen = this.observed.get(name);
    if (seen && seen.resourceVersion === lease.metadata.resourceVersion) return seen.at;
    this.observed.set(name, { resourceVersion: lease.metadata.resourceVersion!, at: now });
    return now;
  }

  /** One lease's turn: renew it if held (added to `renewals`); take it when free only if `want`. */
  private async step(name: string, lease: Lease | undefined, now: Date, want: boolean, renewals: Lease[]): Promise<void> {
    const { store, identity, durationSeconds, log } = this.opts;
    try {
      const observedAt = lease ? this.observe(name, lease, now) : now;
      const step = nextLeaseStep(lease ? { spec: lease.spec as LeaseSpec, observedAt } : undefined, identity, now, durationSeconds);
      if (step.action === 'wait' || (!want && step.action !== 'renew')) {
        if (step.action === 'wait' && this.renewedAt.has(name)) log.warn({ lease: name, holder: step.holder }, 'lease taken over by another replica');
        this.drop(name);
        return;
      }
      if (step.action === 'renew') {
        renewals.push({ ...lease!, spec: { ...step.spec } });
        return;
      }
      const written =
        step.action === 'create'
          ? await store.create(leaseObject(name, step.spec), WRITER)
          : await store.replace({ ...lease!, spec: { ...step.spec } }, WRITER);
      log.info({ lease: name, transitions: step.spec.leaseTransitions }, 'lease acquired');
      this.written(written, now);
    } catch (err) {
      if (err instanceof HoldfastError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists' || err.reason === 'NotFound')) {
        // Another replica wrote first; the next round reads what it wrote.
        this.drop(name);
        return;
      }
      log.warn({ err, lease: name }, 'lease round failed; retrying at the next renewal');
      // Held only until its duration runs out since the last renewal that was written.
      if (this.renewedAt.has(name) && !this.holds(name)) this.drop(name);
    }
  }

  /**
   * Renews the leases this replica holds in one write; one that another replica wrote since this
   * round read it (taken over after this replica was paused) is not renewed and is let go.
   */
  private async renew(renewals: Lease[], now: Date): Promise<void> {
    if (renewals.length === 0) return;
    try {
      const written = new Map((await this.opts.store.replaceSpecsIfCurrent('Lease', renewals, WRITER)).map((l) => [l.metadata.name, l]));
      for (const { metadata } of renewals) {
        const lease = written.get(metadata.name);
        if (lease) this.written(lease, now);
        // Another replica wrote first; the next round reads what it wrote.
        else this.drop(metadata.name);
      }
    } catch (err) {
      this.opts.log.warn({ err, leases: renewals.map((r) => r.metadata.name) }, 'renewing the leases failed; retrying at the next renewal');
      // Held only until its duration runs out since the last renewal that was written.
      for (const { metadata } of renewals) if (this.renewedAt.has(metadata.name) && !this.holds(metadata.name)) this.drop(metadata.name);
    }
  }

  /** A lease this replica wrote as its holder at `now`: held from then for its duration. */
  private written(lease: Lease, now: Date): void {
    const name = lease.metadata.name;
    this.observed.set(name, { resourceVersion: lease.metadata.resourceVersion!, at: now });
    this.renewedAt.set(name, now.getTime());
    this.transitions.set(name, (lease.spec as LeaseSpec).leaseTransitions ?? 0);
    this.notify(name, true);
  }

  /** Hands a lease back (others may take it at once); nothing when this replica does not hold it. */
  private async release(name: string, lease: Lease): Promise<void> {
    const spec = releasedLease(lease.spec!, this.opts.identity, this.clock());
    if (!spec) return;
    await this.opts.store.replace({ ...lease, spec: { ...spec } }, WRITER);
    this.opts.log.info({ lease: name }, 'lease released');
  }

  private drop(name: string) {
    if (this.renewedAt.delete(name)) this.notify(name, false);
  }

  /** The leases listeners were last told are held. */
  private readonly announced = new Set<string>();

  private notify(name: string, held: boolean) {
    if (held === this.announced.has(name)) return;
    if (held) this.announced.add(name);
    else this.announced.delete(name);
    for (const l of this.listeners) {
      try {
        l(name, held);
      } catch (err) {
        this.opts.log.warn({ err, lease: name }, 'a lease listener failed');
      }
    }
  }
}

function leaseObject(name: string, spec: LeaseSpec): Resource {
  return { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Lease', metadata: { name }, spec: { ...spec } };
}
