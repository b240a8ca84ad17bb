// Runs reconcilers, controller-runtime style. Store changes only enqueue keys; a worker calls
// `reconcile(key)`, which reads the whole current state and converges. Errors requeue with backoff
// per key; every kind is also resynced periodically, so a missed event costs at most one interval.
import { objectKey, type Resource } from '../core/resource.js';
import type { ReconcileObserver } from '../core/observers.js';
import type { Logger } from '../observability/logger.js';
import type { ChangeEvent, ResourceStore } from '../store/resource-store.js';
import { shardLeaseName, shardOfLease } from '../core/lease/shards.js';
import type { LeaseHolder } from './leases/lease-elector.js';
import { withFencingToken } from '../store/fencing.js';
import { WorkQueue } from './work-queue.js';

/** How soon a key whose lease renewal is late is looked at again. */
const LATE_RENEWAL_RETRY_MS = 1000;

/**
 * A periodic resync hands its keys to the queue spread over this share of the interval, a slice at a
 * time, not all at once: with 1000 Services the drift controller's resync was 1000 reconciles in a
 * few seconds every 10 minutes (~7 s of CPU in one burst). The first resync and one after a lease is
 * taken over stay immediate: then nothing has been looked at yet.
 */
const RESYNC_SPREAD_SHARE = 0.5;
/** The longest pause between two slices of a spread resync. */
const RESYNC_SLICE_MAX_MS = 1000;

export interface ReconcileResult {
  /** Look again after this long even if nothing changes (polling, waiting on a host). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  /** The kind whose keys this reconciler works on (several reconcilers may share one). */
  readonly kind: string;
  /** The controller's own name, unique in a manager: metrics and logs tell controllers apart by it. */
  readonly name: string;
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void>;
}

export interface ControllerOptions {
  workers?: number;
  resyncMs?: number;
  /** Hard limit on one reconcile; the signal aborts after it. */
  reconcileTimeoutMs?: number;
  /** Keys of this controller to enqueue when an object of another kind changes. */
  mapOthers?: (event: ChangeEvent) => string[] | Promise<string[]>;
  /**
   * A singleton: reconcile only on the replica that holds this Lease. Elsewhere keys are dropped;
   * the replica that takes the lease over resyncs, and one that loses it aborts what it was doing.
   */
  lease?: string;
  /**
   * The shard a key's object belongs to (that of its Server). When servers are sharded, a key is
   * reconciled only on the replica holding its shard's Lease, as with `lease`.
   */
  shardOf?: (key: string) => Promise<number>;
}

interface Running {
  reconciler: Reconciler;
  queue: WorkQueue;
  opts: Required<Omit<ControllerOptions, 'mapOthers' | 'lease' | 'shardOf'>> & Pick<ControllerOptions, 'mapOthers' | 'lease' | 'shardOf'>;
  resyncTimer?: NodeJS.Timeout;
  /** The next slice of a spread resync. */
  spreadTimer?: NodeJS.Timeout;
}

export class ControllerManager {
  private readonly controllers: Running[] = [];
  private unsubscribe?: () => void;
  private unsubscribeLeases?: () => void;
  private stopped = false;
  private readonly workers: Promise<void>[] = [];
  private readonly inflight = new Map<AbortController, { running: Running; lease?: string }>();

  constructor(
    private readonly store: ResourceStore,
    private readonly log: Logger,
    private readonly observer?: ReconcileObserver,
    /** Absent: this is the only replica, and every controller runs here. */
    private readonly leases?: LeaseHolder,
  ) {}

  register(reconciler: Reconciler, opts: ControllerOptions = {}): WorkQueue {
    const queue = new WorkQueue();
    this.controllers.push({
      reconciler,
      queue,
      opts: {
        workers: opts.workers ?? 2,
        resyncMs: opts.resyncMs ?? 60_000,
        reconcileTimeoutMs: opts.reconcileTimeoutMs ?? 5 * 60_000,
        mapOthers: opts.mapOthers,
        lease: opts.lease,
        shardOf: opts.shardOf,
      },
    });
    return queue;
  }

  /** Enqueues a key by hand for every controller of its kind. */
  enqueue(kind: string, key: string): void {
    for (const c of this.controllers) if (c.reconciler.kind === kind) c.queue.add(key);
  }

  async start(): Promise<void> {
    this.unsubscribe = this.store.subscribe((e) => void this.route(e));
    this.unsubscribeLeases = this.leases?.onChange((lease, held) => {
      const shardLease = shardOfLease(lease) !== undefined;
      for (const c of this.controllers) {
        if (c.opts.lease !== lease && !(shardLease && c.opts.shardOf)) continue;
        if (held) void this.resync(c);
        else for (const [ac, job] of this.inflight) if (job.running === c && job.lease === lease) ac.abort(new Error(`lease ${lease} lost`));
      }
    });
    for (const c of this.controllers) {
      await this.resync(c);
      const tick = () => {
        if (this.stopped) return;
        void this.resync(c, c.opts.resyncMs * RESYNC_SPREAD_SHARE).finally(() => {
          c.resyncTimer = setTimeout(tick, c.opts.resyncMs);
          c.resyncTimer.unref();
        });
      };
      c.resyncTimer = setTimeout(tick, c.opts.resyncMs);
      c.resyncTimer.unref();
      for (let i = 0; i < c.opts.workers; i++) this.workers.push(this.work(c));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribeLeases?.();
    for (const c of this.controllers) {
      clearTimeout(c.resyncTimer);
      clearTimeout(c.spreadTimer);
      c.queue.shutdown();
    }
    for (const ac of this.inflight.keys()) ac.abort(new Error('control plane shutting down'));
    await Promise.allSettled(this.workers);
  }

  /**
   * Like controller-runtime's GenerationChangedPredicate: a write that changed only status (most
   * often the controller's own) does not wake the object's controller again.
   */
  private readonly seenGeneration = new Map<string, string>();

  private changedBeyondStatus(e: ChangeEvent): boolean {
    const key = `${e.object.kind}/${objectKey(e.object.metadata)}`;
    const m = e.object.metadata;
    const fingerprint = JSON.stringify([m.generation, m.deletionTimestamp, m.finalizers, m.labels, m.annotations]);
    if (e.type === 'DELETED') {
      this.seenGeneration.delete(key);
      return true;
    }
    const before = this.seenGeneration.get(key);
    this.seenGeneration.set(key, fingerprint);
    return e.type === 'ADDED' || before !== fingerprint;
  }

  private async route(e: ChangeEvent) {
    const relevant = this.changedBeyondStatus(e);
    for (const c of this.controllers) {
      if (e.object.kind === c.reconciler.kind && relevant) c.queue.add(objectKey(e.object.metadata));
      if (c.opts.mapOthers) {
        try {
          for (const key of await c.opts.mapOthers(e)) c.queue.add(key);
        } catch (err) {
          this.log.warn({ err, controller: c.reconciler.name }, 'mapping a change to keys failed');
        }
      }
    }
  }

  /** Enqueues every key of the controller's kind: at once, or spread over `spreadOverMs`. */
  private async resync(c: Running, spreadOverMs = 0) {
    let keys: string[];
    try {
      const { items } = await this.store.list(c.reconciler.kind);
      keys = (items as Resource[]).map((obj) => objectKey(obj.metadata));
    } catch (err) {
      this.log.warn({ err, controller: c.reconciler.name }, 'resync list failed; next interval retries');
      return;
    }
    clearTimeout(c.spreadTimer);
    const sliceMs = Math.min(RESYNC_SLICE_MAX_MS, spreadOverMs / Math.max(1, keys.length));
    const slices = sliceMs > 0 ? Math.max(1, Math.min(keys.length, Math.floor(spreadOverMs / sliceMs))) : 1;
    let slice = 0;
    const next = () => {
      if (this.stopped) return;
      const from = Math.floor((slice * keys.length) / slices);
      const to = Math.floor(((slice + 1) * keys.length) / slices);
      for (const key of keys.slice(from, to)) c.queue.add(key);
      if (++slice < slices) {
        c.spreadTimer = setTimeout(next, sliceMs);
        c.spreadTimer.unref();
      }
    };
    next();
  }

  /** The Lease this replica must hold to reconcile the key here, if any. */
  private async leaseFor(c: Running, key: string): Promise<string | undefined> {
    if (!this.leases) return undefined;
    if (c.opts.lease) return c.opts.lease;
    if (!c.opts.shardOf || !this.leases.shardCount) return undefined;
    return shardLeaseName(await c.opts.shardOf(key));
  }

  private async work(c: Running) {
    const { kind, name } = c.reconciler;
    for (;;) {
      const key = await c.queue.get();
      if (key === undefined) return;
      let lease: string | undefined;
      try {
        lease = await this.leaseFor(c, key);
      } catch (err) {
        const delay = c.queue.addRateLimited(key);
        this.log.warn({ err, controller: name, key, retryInMs: delay }, 'finding the shard of a key failed; requeued');
        c.queue.done(key);
        continue;
      }
      if (lease && !this.leases?.holds(lease)) {
        // A key left here is the lease holder's; but a renewal running late (a loaded machine, a slow
        // store) is not a lease lost, and its keys would be lost with nothing to bring them back.
        if (this.leases?.renewalLate(lease)) c.queue.addAfter(key, LATE_RENEWAL_RETRY_MS);
        else c.queue.forget(key);
        c.queue.done(key);
        continue;
      }
      const ac = new AbortController();
      this.inflight.set(ac, { running: c, lease });
      const timer = setTimeout(() => ac.abort(new Error(`reconcile of ${kind} ${key} exceeded ${c.opts.reconcileTimeoutMs} ms`)), c.opts.reconcileTimeoutMs);
      const started = performance.now();
      try {
        // Work for a shard (and what it starts, such as a rollout) writes under the shard lease's token.
        const token = lease && shardOfLease(lease) !== undefined ? this.leases?.fencingToken(lease) : undefined;
        const result = await (token ? withFencingToken(token, () => c.reconciler.reconcile(key, ac.signal)) : c.reconciler.reconcile(key, ac.signal));
        c.queue.forget(key);
        if (result?.requeueAfterMs !== undefined && !this.stopped) c.queue.addAfter(key, result.requeueAfterMs);
        this.observer?.onReconcile(c.reconciler, (performance.now() - started) / 1000, result?.requeueAfterMs !== undefined ? 'requeue' : 'success');
      } catch (err) {
        this.observer?.onReconcile(c.reconciler, (performance.now() - started) / 1000, 'error');
        if (!this.stopped) {
          const delay = c.queue.addRateLimited(key);
          this.log.warn({ err, controller: name, key, retryInMs: delay, failures: c.queue.failuresOf(key) }, 'reconcile failed; requeued');
        }
      } finally {
        clearTimeout(timer);
        this.inflight.delete(ac);
        c.queue.done(key);
        this.observer?.onQueueDepth(c.reconciler, c.queue.depth);
      }
    }
  }
}
