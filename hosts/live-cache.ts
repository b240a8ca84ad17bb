// Per-server live state, kept the way a Kubernetes informer keeps it: a full list (+ inspect) when it
// starts, after every gap in the event stream and on every resync interval; Docker's /events stream
// keeps it current in between. Every change re-reads the object from the daemon (events only say
// which object to look at), one read at a time per object, so a burst of events or events that race
// a list cannot leave a stale copy behind. Steady state costs no shell commands and, with nothing
// happening on the host, no API calls but the periodic resync. Network events that connect or
// disconnect a known container re-read that container. A Swarm manager with other nodes also lists
// its tasks every few seconds: tasks on the other nodes make no events on the manager.
import { setMaxListeners } from 'node:events';
import type { BackoffPolicy } from '../core/backoff.js';
import { systemClock, type Clock } from './clock.js';
import type { DockerContainerInspect, DockerEvent, SwarmNode, SwarmService, SwarmTask } from './docker-api-types.js';
import type { DockerClient } from './docker-client.js';
import { HoldfastError } from '../core/errors.js';
import { HostError, isDockerNotFound, DockerUnavailable } from './errors.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

export type LiveKind = 'container' | 'service' | 'task' | 'node';

export interface LiveObjects {
  container: DockerContainerInspect;
  service: SwarmService;
  task: SwarmTask;
  node: SwarmNode;
}

export type LiveChange = {
  [K in LiveKind]: {
    type: 'added' | 'updated' | 'removed';
    kind: K;
    id: string;
    /** The object now; for `removed`, the last copy the cache held. */
    object: LiveObjects[K];
    /** The copy before an update. */
    previous?: LiveObjects[K];
  };
}[LiveKind];

export interface LiveSnapshot {
  server: string;
  /** A full list has completed at least once. */
  synced: boolean;
  /** The event stream is open, so the snapshot follows the host as it changes. */
  watching: boolean;
  swarmManager: boolean;
  lastSyncAt?: number;
  containers: ReadonlyMap<string, DockerContainerInspect>;
  services: ReadonlyMap<string, SwarmService>;
  tasks: ReadonlyMap<string, SwarmTask>;
  nodes: ReadonlyMap<string, SwarmNode>;
}

export interface LiveCacheStatus {
  synced: boolean;
  watching: boolean;
  swarmManager: boolean;
  lastSyncAt?: number;
  lastEventAt?: number;
  lastError?: HostError;
}

export interface LiveStateCacheOptions {
  /** Full list + inspect this often even when events flow. */
  resyncIntervalMs?: number;
  /** Watch services, tasks and nodes too: true, false, or 'auto' (when the daemon is a Swarm manager). */
  swarm?: boolean | 'auto';
  /** Only containers carrying all these labels (`key` or `key=value`); all containers when omitted. */
  containerLabels?: string[];
  /** Delay between attempts to reopen the event stream after a failure. */
  retry?: BackoffPolicy;
  /** Per API call. */
  callTimeoutMs?: number;
  /** How soon Swarm tasks in transition are listed again. */
  taskSettleMs?: number;
  /** How often a manager of a swarm with other nodes lists its tasks (theirs make no events here). */
  taskPollMs?: number;
  clock?: Clock;
  random?: () => number;
  onError?: (error: HostError) => void;
}

const DEFAULT_RESYNC_MS = 5 * 60_000;
const DEFAULT_RETRY: BackoffPolicy = { baseMs: 500, capMs: 30_000 };
const DEFAULT_CALL_TIMEOUT_MS = 30_000;
// A re-read an event asked for that fails (a timeout on a busy host, a channel cut) is tried again
// after 1 s, 2 s, 4 s, …: dropping it would leave the object stale until the next full resync.
const REREAD_RETRY_BASE_MS = 1000;
const REREAD_RETRY_ATTEMPTS = 5;
// Container events that do not change what inspect returns.
const IGNORED_CONTAINER_ACTIONS = /^(exec_|attach|resize|top|archive-path|extract-to-dir|export|commit|copy)/;
const TASK_ID_LABEL = 'com.docker.swarm.task.id';
// Task states after which a task changes only when something else (an event) happens.
const SETTLED_TASK_STATES = new Set(['running', 'complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove']);
const DEFAULT_TASK_SETTLE_MS = 1000;
const DEFAULT_TASK_POLL_MS = 3000;
// A task can wait a long time (no node with room for it): look less often the longer it waits.
const MAX_TASK_SETTLE_MS = 30_000;

/**
 * Swarm emits no task events, and a task's state reaches the manager a moment after the container
 * event that announced it; a task on its way somewhere is looked at again until it arrives.
 */
export function taskInTransition(task: SwarmTask): boolean {
  const state = task.Status?.State ?? '';
  if (!SETTLED_TASK_STATES.has(state)) return true;
  return state === 'running' && task.DesiredState !== undefined && task.DesiredState !== 'running';
}

/** Docker's RFC 3339 nanosecond time as the `since` form of /events (`seconds.nanoseconds`). */
export function eventsSinceFromTime(rfc3339: string): string | undefined {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339.trim());
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  return `${Math.floor(seconds / 1000)}.${(match[2] ?? '').padEnd(9, '0')}`;
}

/** Whether a container carries every `key` / `key=value` label asked for. */
export function matchesLabels(labels: Record<string, string> | null | undefined, wanted: readonly string[]): boolean {
  return wanted.every((selector) => {
    const eq = selector.indexOf('=');
    if (eq < 0) return labels?.[selector] !== undefined;
    return labels?.[selector.slice(0, eq)] === selector.slice(eq + 1);
  });
}

type Listener = (change: LiveChange) => void;
type StatusListener = (status: LiveCacheStatus) => void;

interface Refresh {
  again: boolean;
  done: Promise<void>;
}

export class LiveStateCache {
  readonly server: string;
  readonly #docker: DockerClient;
  readonly #clock: Clock;
  readonly #resyncIntervalMs: number;
  readonly #swarmMode: boolean | 'auto';
  readonly #labels: string[];
  readonly #callTimeoutMs: number;
  readonly #taskSettleMs: number;
  readonly #taskPollMs: number;
  readonly #backoff: ReconnectBackoff;
  readonly #onError?: (error: HostError) => void;

  readonly #objects: { [K in LiveKind]: Map<string, LiveObjects[K]> } = {
    container: new Map(),
    service: new Map(),
    task: new Map(),
    node: new Map(),
  };
  readonly #refreshes = new Map<string, Refresh>();
  /** Re-reads waiting to be tried again, by `kind/id`. */
  readonly #retries = new Map<string, unknown>();
  /** The exit code of each container's last death (its `die` event): a restarted container's state no longer holds it. */
  readonly #exitCodes = new Map<string, number>();
  readonly #listeners = new Set<Listener>();
  readonly #statusListeners = new Set<StatusListener>();
  #status: LiveCacheStatus = { synced: false, watching: false, swarmManager: false };
  #running: Promise<void> | undefined;
  #stopping = stoppingController();
  #wake: (() => void) | undefined;
  #taskSettleTimer: unknown;
  #taskSettleDelay = 0;
  #swarmManager = false;
  #syncWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(docker: DockerClient, options: LiveStateCacheOptions = {}) {
    this.server = docker.server;
    this.#docker = docker;
    this.#clock = options.clock ?? systemClock;
    this.#resyncIntervalMs = options.resyncIntervalMs ?? DEFAULT_RESYNC_MS;
    this.#swarmMode = options.swarm ?? 'auto';
    this.#labels = options.containerLabels ?? [];
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.#taskSettleMs = options.taskSettleMs ?? DEFAULT_TASK_SETTLE_MS;
    this.#taskPollMs = options.taskPollMs ?? DEFAULT_TASK_POLL_MS;
    this.#taskSettleDelay = this.#taskSettleMs;
    this.#backoff = new ReconnectBackoff(options.retry ?? DEFAULT_RETRY, options.random);
    this.#onError = options.onError;
  }

  get status(): LiveCacheStatus {
    return { ...this.#status };
  }

  /** Starts listing and watching; idempotent. */
  start(): void {
    if (this.#running) return;
    if (this.#stopping.signal.aborted) this.#stopping = stoppingController();
    this.#running = this.#loop().finally(() => (this.#running = undefined));
  }

  /**
   * Stops watching; the last snapshot stays readable. Who still waits for a first sync is told the
   * connection closed (a Server's changed settings replace its connection): it would wait forever.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const waiter of waiters) waiter.reject(new HoldfastError('ServiceUnavailable', `the connection to server ${this.server} was closed before its first look at the host`));
    this.#wake?.();
    this.#clock.clearTimeout(this.#taskSettleTimer);
    this.#taskSettleTimer = undefined;
    for (const timer of this.#retries.values()) this.#clock.clearTimeout(timer);
    this.#retries.clear();
    await this.#running;
    this.#setStatus({ watching: false });
  }

  /** Cuts a pending retry delay short, e.g. when the server's session has just reconnected. */
  kick(): void {
    this.#wake?.();
  }

  snapshot(): LiveSnapshot {
    return {
      server: this.server,
      synced: this.#status.synced,
      watching: this.#status.watching,
      swarmManager: this.#status.swarmManager,
      lastSyncAt: this.#status.lastSyncAt,
      containers: new Map(this.#objects.container),
      services: new Map(this.#objects.service),
      tasks: new Map(this.#objects.task),
      nodes: new Map(this.#objects.node),
    };
  }

  /** The exit code of the container's last death since the cache started watching, if it died. */
  lastExitCode(containerId: string): number | undefined {
    return this.#exitCodes.get(containerId);
  }

  /** Receives every change from now on; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onStatusChange(listener: StatusListener): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Resolves once the first full list has completed. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#status.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push({
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      });
    });
  }

  async #loop(): Promise<void> {
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      const watch = new AbortController();
      const stopWatch = () => watch.abort();
      stopping.addEventListener('abort', stopWatch, { once: true });
      try {
        await this.#watchCycle(watch.signal);
      } catch (err) {
        if (!stopping.aborted) this.#report(err);
      } finally {
        watch.abort();
        stopping.removeEventListener('abort', stopWatch);
        this.#setStatus({ watching: false });
      }
      if (stopping.aborted) break;
      await this.#pause(this.#backoff.nextDelay()).done;
    }
  }

  /** Opens the event stream, lists everything, then follows events and resyncs until the stream ends. */
  async #watchCycle(signal: AbortSignal): Promise<void> {
    const info = await this.#docker.info({ signal, timeoutMs: this.#callTimeoutMs });
    const swarmManager = this.#swarmMode === 'auto' ? info.Swarm?.ControlAvailable === true : this.#swarmMode;
    const since = (info.SystemTime && eventsSinceFromTime(info.SystemTime)) ?? `${Math.floor(this.#clock.now() / 1000) - 1}`;

    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const streamEnded = this.#docker.streamEvents({ since }, (event) => this.#onEvent(event, swarmManager), {
      signal,
      onOpen: () => opened(),
    });
    const ended = streamEnded.then(
      () => ({ outcome: 'ended' as const }),
      (error: unknown) => ({ outcome: 'failed' as const, error }),
    );
    const first = await Promise.race([open.then(() => undefined), ended]);
    if (first) throw first.outcome === 'failed' ? first.error : new DockerUnavailable(this.server, 'event stream closed as it opened');
    this.#swarmManager = swarmManager;
    this.#setStatus({ watching: true, swarmManager });

    await this.#fullList(swarmManager, signal);
    this.#backoff.reset();
    this.#markSynced();

    let resyncAt = this.#clock.now() + this.#resyncIntervalMs;
    for (;;) {
      // Tasks on other nodes make no event on the manager: with other nodes, tasks are listed between resyncs.
      const pollTasks = swarmManager && this.#objects.node.size > 1;
      const untilResync = Math.max(0, resyncAt - this.#clock.now());
      const pause = this.#pause(pollTasks ? Math.min(this.#taskPollMs, untilResync) : untilResync);
      const next = await Promise.race([ended, pause.done.then(() => ({ outcome: 'resync' as const }))]);
      pause.cancel();
      if (signal.aborted) return;
      if (next.outcome === 'failed') throw next.error;
      if (next.outcome === 'ended') throw new DockerUnavailable(this.server, 'event stream ended (daemon restarting?)');
      if (pollTasks && this.#clock.now() < resyncAt) {
        await this.#listAllTasks(signal);
        continue;
      }
      await this.#fullList(swarmManager, signal);
      this.#markSynced();
      resyncAt = this.#clock.now() + this.#resyncIntervalMs;
    }
  }

  /** Lists every task: newer copies apply, tasks gone from the list are dropped. */
  async #listAllTasks(signal: AbortSignal): Promise<void> {
    const tasks = await this.#docker.listTasks(undefined, { signal, timeoutMs: this.#callTimeoutMs });
    const seen = new Set(tasks.map((t) => t.ID));
    for (const task of tasks) this.#applyIfNewer('task', task);
    for (const [id, task] of [...this.#objects.task]) if (!seen.has(id)) this.#remove('task', id, task);
  }

  async #fullList(swarmManager: boolean, signal: AbortSignal): Promise<void> {
    const options = { signal, timeoutMs: this.#callTimeoutMs };
    const filters = this.#labels.length > 0 ? { label: this.#labels } : undefined;
    const listed = await this.#docker.listContainers({ all: true, filters }, options);
    const ids = new Set(listed.map((c) => c.Id));
    for (const id of this.#objects.container.keys()) ids.add(id);
    const work: Array<Promise<void>> = [...ids].map((id) => this.#refresh('container', id));

    if (swarmManager) {
      const [services, tasks, nodes] = await Promise.all([
        this.#docker.listServices(undefined, options),
        this.#docker.listTasks(undefined, options),
        this.#docker.listNodes(undefined, options),
      ]);
      this.#applyListed('service', services, work);
      this.#applyListed('task', tasks, work);
      this.#applyListed('node', nodes, work);
    } else {
      for (const kind of ['service', 'task', 'node'] as const) {
        for (const [id, object] of [...this.#objects[kind]]) this.#remove(kind, id, object);
      }
    }
    const results = await Promise.allSettled(work);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Swarm lists carry whole objects with a version index: newer ones apply directly; ones gone from the list are re-read. */
  #applyListed<K extends 'service' | 'task' | 'node'>(kind: K, listed: LiveObjects[K][], work: Array<Promise<void>>): void {
    const seen = new Set<string>();
    for (const object of listed) {
      seen.add(object.ID);
      this.#applyIfNewer(kind, object);
    }
    for (const id of this.#objects[kind].keys()) if (!seen.has(id)) work.push(this.#refresh(kind, id));
  }

  #applyIfNewer<K extends 'service' | 'task' | 'node'>(kind: K, object: LiveObjects[K]): void {
    const current = this.#objects[kind].get(object.ID) as LiveObjects[K] | undefined;
    if (current && (current.Version?.Index ?? 0) > (object.Version?.Index ?? 0)) return;
    this.#put(kind, object.ID, object);
  }

  #onEvent(event: DockerEvent, swarmManager: boolean): void {
    this.#status.lastEventAt = this.#clock.now();
    const id = event.Actor?.ID;
    if (!id) return;
    const refresh = (kind: LiveKind, objectId: string) => this.#refreshRetrying(kind, objectId, 0);
    switch (event.Type) {
      case 'container':
        if (IGNORED_CONTAINER_ACTIONS.test(event.Action)) return;
        if (event.Actor.Attributes?.[TASK_ID_LABEL]) this.#taskSettleDelay = this.#taskSettleMs;
        // Container events carry the container's labels: skip containers outside the selector.
        if (!this.#objects.container.has(id) && !matchesLabels(event.Actor.Attributes, this.#labels)) return;
        if (event.Action === 'die' && event.Actor.Attributes?.exitCode !== undefined) this.#exitCodes.set(id, Number(event.Actor.Attributes.exitCode));
        if (event.Action === 'destroy') this.#exitCodes.delete(id);
        void refresh('container', id);
        if (swarmManager && event.Actor.Attributes?.[TASK_ID_LABEL]) void refresh('task', event.Actor.Attributes[TASK_ID_LABEL]);
        return;
      case 'network': {
        // Connecting or disconnecting a container changes what its inspect says (its networks).
        const containerId = event.Actor.Attributes?.container;
        if ((event.Action === 'connect' || event.Action === 'disconnect') && containerId && this.#objects.container.has(containerId)) void refresh('container', containerId);
        return;
      }
      case 'service':
        if (!swarmManager) return;
        this.#taskSettleDelay = this.#taskSettleMs;
        void refresh('service', id);
        void this.#refreshServiceTasks(id).catch((err) => this.#report(err));
        return;
      case 'node':
        if (swarmManager) void refresh('node', id);
        return;
    }
  }

  /** Re-reads one object for an event; a failed read is reported and tried again a few times. */
  async #refreshRetrying(kind: LiveKind, id: string, attempt: number): Promise<void> {
    const key = `${kind}/${id}`;
    try {
      await this.#refresh(kind, id);
    } catch (err) {
      this.#report(err);
      if (this.#stopping.signal.aborted || attempt + 1 >= REREAD_RETRY_ATTEMPTS || this.#retries.has(key)) return;
      const timer = this.#clock.setTimeout(() => {
        this.#retries.delete(key);
        void this.#refreshRetrying(kind, id, attempt + 1);
      }, REREAD_RETRY_BASE_MS * 2 ** attempt);
      this.#retries.set(key, timer);
    }
  }

  /** Re-reads one object; concurrent requests for the same object share a read and trigger one more. */
  #refresh(kind: LiveKind, id: string): Promise<void> {
    const key = `${kind}/${id}`;
    const running = this.#refreshes.get(key);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry: Refresh = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.#read(kind, id);
        } while (entry.again && !this.#stopping.signal.aborted);
      } finally {
        this.#refreshes.delete(key);
      }
    })();
    this.#refreshes.set(key, entry);
    return entry.done;
  }

  async #read(kind: LiveKind, id: string): Promise<void> {
    const options = { signal: this.#stopping.signal, timeoutMs: this.#callTimeoutMs };
    try {
      switch (kind) {
        case 'container': {
          const container = await this.#docker.inspectContainer(id, options);
          if (matchesLabels(container.Config?.Labels, this.#labels)) this.#put('container', container.Id, container);
          else this.#remove('container', container.Id);
          return;
        }
        case 'service':
          return this.#put('service', id, await this.#docker.inspectService(id, options));
        case 'task':
          return this.#put('task', id, await this.#docker.inspectTask(id, options));
        case 'node':
          return this.#put('node', id, await this.#docker.inspectNode(id, options));
      }
    } catch (err) {
      if (isDockerNotFound(err)) this.#remove(kind, id);
      else throw err;
    }
  }

  async #refreshServiceTasks(serviceId: string): Promise<void> {
    const tasks = await this.#docker.listTasks({ service: [serviceId] }, { signal: this.#stopping.signal, timeoutMs: this.#callTimeoutMs });
    const seen = new Set(tasks.map((t) => t.ID));
    for (const task of tasks) this.#applyIfNewer('task', task);
    for (const [id, task] of [...this.#objects.task]) if (task.ServiceID === serviceId && !seen.has(id)) this.#remove('task', id, task);
  }

  #put<K extends LiveKind>(kind: K, id: string, object: LiveObjects[K]): void {
    const map = this.#objects[kind] as Map<string, LiveObjects[K]>;
    const previous = map.get(id);
    if (kind === 'task' && taskInTransition(object as SwarmTask)) this.#scheduleTaskSettle();
    if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(object)) return;
    map.set(id, object);
    this.#emit({ type: previous === undefined ? 'added' : 'updated', kind, id, object, previous } as LiveChange);
  }

  #scheduleTaskSettle(): void {
    if (this.#taskSettleTimer !== undefined || this.#stopping.signal.aborted || !this.#swarmManager) return;
    this.#taskSettleTimer = this.#clock.setTimeout(() => {
      void (async () => {
        try {
          await this.#listAllTasks(this.#stopping.signal);
          this.#taskSettleTimer = undefined;
          this.#taskSettleDelay = Math.min(this.#taskSettleDelay * 2, MAX_TASK_SETTLE_MS);
        } catch (err) {
          this.#taskSettleTimer = undefined;
          this.#report(err);
        }
      })();
    }, this.#taskSettleDelay);
  }

  #remove<K extends LiveKind>(kind: K, id: string, known?: LiveObjects[K]): void {
    const map = this.#objects[kind] as Map<string, LiveObjects[K]>;
    const previous = known ?? map.get(id);
    if (!map.delete(id) || previous === undefined) return;
    this.#emit({ type: 'removed', kind, id, object: previous } as LiveChange);
  }

  #emit(change: LiveChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the cache and the other listeners go on.
      }
    }
  }

  #markSynced(): void {
    this.#setStatus({ synced: true, lastSyncAt: this.#clock.now(), lastError: undefined });
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  #report(err: unknown): void {
    if (this.#stopping.signal.aborted) return;
    const error = err instanceof HostError ? err : new DockerUnavailable(this.server, err instanceof Error ? err.message : String(err), err);
    this.#setStatus({ lastError: error });
    this.#onError?.(error);
  }

  #setStatus(patch: Partial<LiveCacheStatus>): void {
    const before = JSON.stringify(this.#status);
    this.#status = { ...this.#status, ...patch };
    if (JSON.stringify(this.#status) === before) return;
    const status = this.status;
    for (const listener of this.#statusListeners) {
      try {
        listener(status);
      } catch {
        // Reports only.
      }
    }
  }

  /** Waits `ms`, or less when stopped or kicked. */
  #pause(ms: number): { done: Promise<void>; cancel: () => void } {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = () => {
        this.#clock.clearTimeout(timer);
        if (this.#wake === finish) this.#wake = undefined;
        resolve();
      };
    });
    const timer = this.#clock.setTimeout(() => finish(), ms);
    if (this.#stopping.signal.aborted) finish();
    else this.#wake = finish;
    return { done, cancel: finish };
  }
}

/**
 * The cache's lifetime signal. Every re-read in flight listens to it, one per object an event
 * changed: a burst of events (50 containers replaced at once) is many listeners, not a leak.
 */
function stoppingController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
