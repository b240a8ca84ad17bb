// A work queue of keys in controller-runtime's shape: a key queued many times is processed once;
// a key being processed is never processed concurrently with itself (a re-add while processing
// runs it again afterwards); failures come back after a full-jitter backoff per key.
import { fullJitterDelay, type BackoffPolicy } from '../core/backoff.js';

export interface WorkQueueOptions {
  backoff?: BackoffPolicy;
  random?: () => number;
  /** Schedules delayed adds; injectable for tests. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

/**
 * Node fires a timer longer than this (about 24.8 days) at once: a longer delay becomes this one, and
 * the reconcile it leads to asks for the rest.
 */
export const MAX_DELAY_MS = 2 ** 31 - 1;

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return { cancel: () => clearTimeout(t) };
};

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { cancel(): void }>();
  private waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly setTimer: NonNullable<WorkQueueOptions['setTimer']>;

  constructor(opts: WorkQueueOptions = {}) {
    this.backoff = opts.backoff ?? { baseMs: 200, capMs: 60_000 };
    this.random = opts.random ?? Math.random;
    this.setTimer = opts.setTimer ?? defaultTimer;
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queued.delete(key);
      this.processing.add(key);
      waiter(key);
    } else this.queue.push(key);
  }

  /** Adds the key after `ms`; a later call for the same key replaces an earlier one. */
  addAfter(key: string, ms: number): void {
    this.delayed.get(key)?.cancel();
    this.delayed.set(
      key,
      this.setTimer(() => {
        this.delayed.delete(key);
        this.add(key);
      }, Math.min(ms, MAX_DELAY_MS)),
    );
  }

  /** Re-adds after the key's next backoff delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = fullJitterDelay(n, this.backoff, this.random);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks processing of `key` finished; a key re-added meanwhile is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const t of this.delayed.values()) t.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
