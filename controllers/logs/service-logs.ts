// A Service's container logs, read through the Docker API over its server's kept session: the
// containers come from the live-state cache, each is streamed outside the per-host operation limit
// (a reader can take as long as it likes without holding up reconciles), and a follow picks up the
// containers that a rollout or a restart brings, until none of the Service's is left running.
import { HoldfastError } from '../../core/errors.js';
import { resumeSince, LogLineSplitter, type ContainerLogLine } from '../../core/logs/log-lines.js';
import { selectLogTargets, type LogContainer, type LogSelection, type LogTarget } from '../../core/logs/log-targets.js';
import type { Service } from '../../core/schema/types.generated.js';
import type { DockerContainerInspect, HostConnection, LiveChange } from '../../hosts/index.js';
import type { ServerConnector } from '../servers/server-connector.js';

export interface ServiceLogOptions extends LogSelection {
  follow?: boolean;
  /** Lines from the end of each container's log; all when omitted. */
  tailLines?: number;
  /** Unix seconds: only lines written since. */
  since?: number;
}

/** Receives each whole line; the next line of that container is read once the promise settles. */
export type LogLineSink = (target: LogTarget, line: ContainerLogLine) => Promise<void>;

export interface ServiceLogStream {
  /** The containers read from the start (a follow may add more). */
  targets: LogTarget[];
  /** Streams every line to `sink`; resolves when the logs end (or the signal aborts). */
  run(sink: LogLineSink): Promise<void>;
}

export interface ServiceLogSource {
  /** Selects the containers (throwing NotFound, before anything is streamed) and returns the stream. */
  open(service: Service, options: ServiceLogOptions, signal: AbortSignal): Promise<ServiceLogStream>;
}

const HOST_SYNC_WAIT_MS = 10_000;
/** A follow with no container of the Service left running ends after this long without a new one. */
const DEFAULT_FOLLOW_GRACE_MS = 3_000;
const RESTART_RECHECK_MS = 500;

export class ServiceLogs implements ServiceLogSource {
  constructor(private readonly deps: { connector: ServerConnector; followGraceMs?: number }) {}

  async open(service: Service, options: ServiceLogOptions, signal: AbortSignal): Promise<ServiceLogStream> {
    const spec = service.spec!;
    const server = await this.deps.connector.server(spec.server);
    const serverSpec = server.spec!;
    if (serverSpec.kind === 'docker-swarm-manager' && !('compose' in spec.source && spec.source.compose)) {
      throw new HoldfastError('BadRequest', `service ${service.metadata.namespace}/${service.metadata.name} runs as a Swarm service on ${server.metadata.name}: its task logs are not read by holdfast logs yet (on the manager: docker service logs)`);
    }
    const connection = await this.deps.connector.connectionFor(server);
    const cache = connection.liveState;
    await cache.waitForSync(AbortSignal.any([signal, AbortSignal.timeout(HOST_SYNC_WAIT_MS)])).catch(() => {
      if (signal.aborted) throw signal.reason;
      throw new HoldfastError('ServiceUnavailable', `the containers of server ${server.metadata.name} could not be listed within ${HOST_SYNC_WAIT_MS / 1000} s (see holdfast describe server ${server.metadata.name})`);
    });
    const who = { project: service.metadata.namespace!, environment: spec.environment, service: service.metadata.name };
    const containers = () => [...cache.snapshot().containers.values()].map(logContainer);
    const targets = selectLogTargets(containers(), who, options);
    return {
      targets,
      run: (sink) => new LogFollower(connection, options, signal, sink, this.deps.followGraceMs ?? DEFAULT_FOLLOW_GRACE_MS).run(targets, () => {
        try {
          return selectLogTargets(containers(), who, { ...options, previous: false });
        } catch {
          return [];
        }
      }),
    };
  }
}

/** Streams a set of containers at once, and while following, the ones that start later. */
class LogFollower {
  readonly #active = new Map<string, Promise<void>>();
  /** Per container id, the time of the last line read: a restart resumes after it. */
  readonly #lastTime = new Map<string, string>();
  #idleTimer: NodeJS.Timeout | undefined;
  #finish!: () => void;
  #current: () => LogTarget[] = () => [];
  #finished = false;

  constructor(
    private readonly connection: HostConnection,
    private readonly options: ServiceLogOptions,
    private readonly signal: AbortSignal,
    private readonly sink: LogLineSink,
    private readonly graceMs: number,
  ) {}

  async run(initial: LogTarget[], current: () => LogTarget[]): Promise<void> {
    const done = new Promise<void>((resolve) => (this.#finish = () => {
      this.#finished = true;
      resolve();
    }));
    this.#current = current;
    const onAbort = () => this.#finish();
    this.signal.addEventListener('abort', onAbort, { once: true });
    let unsubscribe = () => {};
    if (this.options.follow && !this.options.previous) {
      unsubscribe = this.connection.liveState.subscribe((change) => this.#onChange(change));
    }
    try {
      for (const target of initial) this.#attach(target, true);
      this.#settle();
      await done;
    } finally {
      unsubscribe();
      clearTimeout(this.#idleTimer);
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  /** A container of the Service started (a rollout's successor, or a restart): stream it too. */
  #onChange(change: LiveChange): void {
    if (change.kind !== 'container' || change.type === 'removed' || !change.object.State?.Running) return;
    this.#attachIfRunning(change.id);
  }

  #attachIfRunning(id: string): void {
    if (this.#finished || this.#active.has(id) || this.signal.aborted) return;
    const target = this.#current().find((t) => t.container.id === id && t.container.running);
    if (target) this.#attach(target, false);
  }

  #attach(target: LogTarget, first: boolean): void {
    const id = target.container.id;
    clearTimeout(this.#idleTimer);
    const last = this.#lastTime.get(id);
    // The first read honours --tail and --since; a restarted container resumes after its last line,
    // and a container that appeared while following is read from its start.
    const query = last
      ? { since: resumeSince(last) }
      : first
        ? { tail: this.options.tailLines ?? ('all' as const), since: this.options.since }
        : {};
    const splitter = new LogLineSplitter();
    const deliver = async (lines: ContainerLogLine[]) => {
      for (const line of lines) {
        if (line.time) this.#lastTime.set(id, line.time);
        await this.sink(target, line);
      }
    };
    const stream = this.connection.docker
      .streamContainerLogs(
        id,
        { ...query, timestamps: true, follow: this.options.follow === true },
        (chunk) => (chunk.stream === 'stdin' ? undefined : deliver(splitter.push(chunk.stream, chunk.data))),
        { signal: this.signal, tty: target.container.tty },
      )
      // A container removed while it is read ends its stream; the others go on.
      .catch(() => undefined)
      .then(() => deliver(splitter.end()))
      .catch(() => undefined)
      .finally(() => {
        this.#active.delete(id);
        this.#settle();
        // A quick restart can be seen by the cache before this stream has ended: look once more.
        if (this.options.follow && !this.options.previous) setTimeout(() => this.#attachIfRunning(id), RESTART_RECHECK_MS).unref();
      });
    this.#active.set(id, stream);
  }

  /** Without a follow, the logs end with the last stream; with one, a grace period after it. */
  #settle(): void {
    if (this.#active.size > 0) return;
    if (!this.options.follow || this.options.previous || this.signal.aborted) {
      this.#finish();
      return;
    }
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#finish(), this.graceMs);
  }
}

function logContainer(inspect: DockerContainerInspect): LogContainer {
  return {
    id: inspect.Id,
    name: (inspect.Name ?? '').replace(/^\//, ''),
    labels: inspect.Config?.Labels ?? {},
    running: inspect.State?.Running === true,
    tty: inspect.Config?.Tty === true,
  };
}
