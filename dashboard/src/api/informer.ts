// A list-then-watch cache of one kind, in the shape of Kubernetes informers: list, watch from the
// list's resourceVersion, apply ADDED/MODIFIED/DELETED, follow BOOKMARKs; on 410 Gone list again;
// when the stream breaks, reconnect with backoff. Components read it through useSyncExternalStore.
import { backoffDelay } from '../model/backoff.js';
import { ApiClient, ApiError } from './client.js';
import { readLines } from './ndjson.js';
import type { ApiStatus, WatchEvent } from './types.js';

/** loading: first list running; live: watching; syncing: restarting after an idle stop; reconnecting: stream broke. */
export type SyncState = 'loading' | 'live' | 'syncing' | 'reconnecting' | 'error';

export interface Snapshot<T> {
  items: readonly T[];
  state: SyncState;
  /** True once a list succeeded: items are real, even if the stream is down now. */
  synced: boolean;
  error?: ApiError;
}

interface Keyed {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

/** How long an informer keeps watching after its last reader left (page changes reuse it). */
const LINGER_MS = 15_000;

const keyOf = (o: Keyed) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

export class Informer<T extends Keyed> {
  private readonly objects = new Map<string, T>();
  private readonly listeners = new Set<() => void>();
  private snapshot: Snapshot<T> = { items: [], state: 'loading', synced: false };
  private running?: AbortController;
  private lingerTimer?: number;
  private flushTimer?: number;

  constructor(
    private readonly client: ApiClient,
    readonly plural: string,
    private readonly onStateChange: () => void = () => {},
  ) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    window.clearTimeout(this.lingerTimer);
    if (!this.running) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.lingerTimer = window.setTimeout(() => this.stop(), LINGER_MS);
    };
  };

  readonly getSnapshot = (): Snapshot<T> => this.snapshot;

  get state(): SyncState | undefined {
    return this.running ? this.snapshot.state : undefined;
  }

  stop(): void {
    window.clearTimeout(this.lingerTimer);
    this.running?.abort();
    this.running = undefined;
    this.onStateChange();
  }

  private start() {
    const controller = new AbortController();
    this.running = controller;
    if (this.snapshot.synced) this.update({ state: 'syncing' });
    void this.run(controller.signal);
    this.onStateChange();
  }

  private async run(signal: AbortSignal) {
    let resourceVersion: string | undefined;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) resourceVersion = await this.list(signal);
        const url = `${this.path()}?watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
        const res = await this.client.send(url, { signal, stream: true });
        if (this.snapshot.state !== 'live') this.update({ state: 'live', error: undefined });
        const openedAt = Date.now();
        let received = 0;
        for await (const line of readLines(res.body!, signal)) {
          if (!line.trim()) continue;
          const event = JSON.parse(line) as WatchEvent<T | ApiStatus>;
          if (event.type === 'ERROR') {
            const status = event.object as ApiStatus;
            if (status.code === 410) {
              // Too far behind the change log: start over from a fresh list.
              resourceVersion = undefined;
              break;
            }
            throw new ApiError(status.message, status.code, status.reason);
          }
          received++;
          resourceVersion = (event.object as T).metadata.resourceVersion ?? resourceVersion;
          if (event.type === 'BOOKMARK') continue;
          this.apply(event.type, event.object as T);
        }
        // The server ends a watch after its timeout: watch again from where this one stopped. A
        // stream that closes at once, empty, is a broken one: back off rather than spin.
        if (received === 0 && Date.now() - openedAt < 1000 && resourceVersion !== undefined) await sleep(backoffDelay(attempt++), signal);
        else attempt = 0;
      } catch (err) {
        if (signal.aborted) return;
        const error = err instanceof ApiError ? err : new ApiError('The live update stream broke.', 0, 'StreamError');
        if (error.code === 410) resourceVersion = undefined;
        this.update({ state: this.snapshot.synced ? 'reconnecting' : 'error', error });
        await sleep(backoffDelay(attempt++), signal);
      }
    }
  }

  private path() {
    return `/apis/holdfast.dev/v1alpha1/${this.plural}`;
  }

  private async list(signal: AbortSignal): Promise<string> {
    const list = await this.client.json<{ metadata: { resourceVersion: string }; items: T[] }>(this.path(), { signal });
    this.objects.clear();
    for (const item of list.items) this.objects.set(keyOf(item), item);
    this.flush({ state: 'live', synced: true, error: undefined });
    return list.metadata.resourceVersion;
  }

  private apply(type: WatchEvent<T>['type'], object: T) {
    if (type === 'DELETED') this.objects.delete(keyOf(object));
    else this.objects.set(keyOf(object), object);
    // A burst of events becomes one render.
    if (this.flushTimer === undefined) this.flushTimer = window.setTimeout(() => this.flush({}), 0);
  }

  private flush(change: Partial<Snapshot<T>>) {
    window.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const items = [...this.objects.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    this.update({ ...change, items });
  }

  private update(change: Partial<Snapshot<T>>) {
    const stateChanged = change.state !== undefined && change.state !== this.snapshot.state;
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener();
    if (stateChanged) this.onStateChange();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((ok) => {
    const timer = window.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      window.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      ok();
    }
  });
}
