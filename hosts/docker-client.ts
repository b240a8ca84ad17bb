// A thin typed Docker Engine API client. Each method builds a request value (docker-requests.ts), sends
// it over a transport (the server's kept SSH session, or a local socket) and decodes the answer. Every
// call takes a signal and a timeout; errors are HostErrors naming the server and the request.
import type { IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type {
  DockerContainerInspect,
  DockerContainerSummary,
  DockerEvent,
  DockerExecInspect,
  DockerImageInspect,
  DockerImageSummary,
  DockerInfo,
  DockerNetworkInspect,
  DockerPing,
  DockerProgress,
  DockerSystemDf,
  DockerVersion,
  DockerVolumeInspect,
  DockerVolumeList,
  SwarmNode,
  SwarmFileObject,
  SwarmService,
  SwarmTask,
} from './docker-api-types.js';
import {
  describeRequest,
  dockerRequests as rq,
  requestTarget,
  type BuildQuery,
  type ContainerListQuery,
  type ContainerLogsQuery,
  type DockerFilters,
  type DockerRequest,
  type EventsQuery,
  type ExecConfig,
  type TerminalSize,
  type RegistryAuth,
} from './docker-requests.js';
import { JsonLinesDecoder, LogDemuxer, type LogChunk } from './docker-streams.js';
import type { Duplex } from 'node:stream';
import type { DockerTransport, ExchangeOptions } from './docker-transport.js';
import { DockerApiError, DockerUnavailable } from './errors.js';

/** A command for runInContainer. */
export interface ContainerCommand {
  cmd: string[];
  /** KEY=value pairs added to the container's environment for this process only (never on its command line). */
  env?: string[];
  stdin?: Readable;
  stdout?: Writable;
}

export interface ContainerCommandResult {
  /** Null when the process had not ended when its output closed. */
  exitCode: number | null;
  stderr: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A call's options with how the transport bounds it (see ExchangeOptions). */
type ExchangeCallOptions = CallOptions & Pick<ExchangeOptions, 'unbounded' | 'waiting'>;

/** The newest API version this client asks for; older daemons are spoken to in their own version. */
export const MAX_API_VERSION = '1.45';
/** Docker 19.03. Older daemons are refused with a clear error. */
export const MIN_API_VERSION = '1.40';

const MAX_JSON_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const MAX_LOG_BYTES = 8 * 1024 * 1024;
const PULL_TIMEOUT_MS = 15 * 60_000;
const BUILD_TIMEOUT_MS = 30 * 60_000;
const ARCHIVE_TIMEOUT_MS = 60 * 60_000;

type Consumer<T> = (response: IncomingMessage, signal: AbortSignal) => Promise<T>;

export class DockerClient {
  readonly #transport: DockerTransport;
  #apiVersion: string | undefined;
  #negotiation: Promise<string> | undefined;

  constructor(transport: DockerTransport, options: { apiVersion?: string } = {}) {
    this.#transport = transport;
    this.#apiVersion = options.apiVersion;
  }

  get server(): string {
    return this.#transport.server;
  }

  /** The API version requests use, once known (after the first call). */
  get apiVersion(): string | undefined {
    return this.#apiVersion;
  }

  // --- system -----------------------------------------------------------------------------------

  async ping(options: CallOptions = {}): Promise<DockerPing> {
    const request = rq.ping();
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      await drain(response);
      const header = (name: string) => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      return { apiVersion: header('api-version') ?? '', osType: header('ostype'), swarm: header('swarm') };
    }, options);
  }

  version(options: CallOptions = {}): Promise<DockerVersion> {
    return this.json(rq.version(), options);
  }

  info(options: CallOptions = {}): Promise<DockerInfo> {
    return this.json(rq.info(), options);
  }

  /** What images, containers, volumes and the build cache take on disk. Slow on big hosts: a minute is allowed. */
  systemDf(options: CallOptions = {}): Promise<DockerSystemDf> {
    return this.json(rq.systemDf(), { ...options, timeoutMs: options.timeoutMs ?? 60_000 });
  }

  /** Removes build cache records (BuildKit's prune, filtered, e.g. by `id`); resolves with the bytes freed. */
  async pruneBuildCache(filters: DockerFilters, options: CallOptions = {}): Promise<number> {
    const answer = await this.json<{ SpaceReclaimed?: number }>(rq.buildPrune(filters), { ...options, timeoutMs: options.timeoutMs ?? 5 * 60_000 });
    return answer?.SpaceReclaimed ?? 0;
  }

  // --- exec -------------------------------------------------------------------------------------

  async createExec(container: string, config: ExecConfig, options: CallOptions = {}): Promise<string> {
    const created = await this.json<{ Id: string }>(rq.execCreate(container, config), options);
    return created.Id;
  }

  /**
   * Starts an exec attached: the returned connection carries stdin to the process and its output
   * back (raw with a TTY, multiplexed as logs are without one). It lives outside the host's
   * operation slots until the process ends or the caller destroys it; `head` is output that arrived
   * with the answer.
   */
  async startExec(exec: string, tty: boolean, options: CallOptions = {}): Promise<{ stream: Duplex; head: Buffer }> {
    const request = rq.execStart(exec, tty);
    const version = await this.#negotiatedVersion(options);
    const result = await this.#transport.upgrade(request, requestTarget(request, version), {
      operation: describeRequest(request),
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    if (result.upgraded) return { stream: result.socket, head: result.head };
    const { response } = result;
    await this.#expectOk(request, response);
    // Old daemons answer 200 and hand over the connection without the upgrade; not supported here.
    response.destroy();
    throw new DockerApiError(this.server, response.statusCode ?? 0, describeRequest(request), 'the daemon did not switch the connection to the exec stream');
  }

  /**
   * Runs a command in a running container without a TTY and waits for it: `stdin` (when given) is
   * streamed in and closed at its end, stdout streams into `stdout` with its backpressure, stderr
   * is kept (its last 64 KiB). Resolves with the exit code; the signal or `timeoutMs` ends the run.
   */
  async runInContainer(container: string, run: ContainerCommand, options: CallOptions = {}): Promise<ContainerCommandResult> {
    const signal = AbortSignal.any([options.signal ?? new AbortController().signal, ...(options.timeoutMs ? [AbortSignal.timeout(options.timeoutMs)] : [])]);
    const exec = await this.createExec(container, { cmd: run.cmd, tty: false, stdin: Boolean(run.stdin), env: run.env }, { signal });
    const { stream, head } = await this.startExec(exec, false, { signal });
    const demuxer = new LogDemuxer(false);
    let stderr = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        stream.destroy();
        run.stdin?.destroy();
        reject(err);
      };
      const deliver = (chunk: Buffer) => {
        for (const frame of demuxer.push(chunk)) {
          if (frame.stream === 'stderr') stderr = Buffer.concat([stderr, frame.data]).subarray(-MAX_ERROR_BYTES);
          else if (frame.stream === 'stdout' && run.stdout && !run.stdout.write(frame.data)) {
            stream.pause();
            run.stdout.once('drain', () => stream.resume());
          }
        }
      };
      const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      deliver(head);
      stream.on('data', deliver);
      stream.once('error', fail);
      stream.once('close', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      if (run.stdin) {
        run.stdin.once('error', fail);
        // The end of the input half-closes the connection: the process reads end of file.
        run.stdin.pipe(stream);
      }
    });
    // The process may still be reported running for a moment after its output closed.
    for (let attempt = 0; ; attempt++) {
      const inspect = await this.inspectExec(exec, { signal });
      if (!inspect.Running || attempt >= 50) return { exitCode: inspect.Running ? null : inspect.ExitCode, stderr: stderr.toString('utf8') };
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }

  resizeExec(exec: string, size: TerminalSize, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.execResize(exec, size), options);
  }

  inspectExec(exec: string, options: CallOptions = {}): Promise<DockerExecInspect> {
    return this.json(rq.execInspect(exec), options);
  }

  // --- containers -------------------------------------------------------------------------------

  listContainers(query: ContainerListQuery = {}, options: CallOptions = {}): Promise<DockerContainerSummary[]> {
    return this.json(rq.containerList(query), options);
  }

  inspectContainer(container: string, options: CallOptions = {}): Promise<DockerContainerInspect> {
    return this.json(rq.containerInspect(container), options);
  }

  createContainer(name: string | undefined, config: object, options: CallOptions & { platform?: string } = {}): Promise<{ Id: string; Warnings?: string[] | null }> {
    return this.json(rq.containerCreate(name, config, options.platform), options);
  }

  startContainer(container: string, options: CallOptions = {}): Promise<void> {
    // A start waits on the daemon (its network namespace, published ports: 1–2 s on a busy host), so
    // several at once would hold every operation slot and queue the short calls behind them.
    return this.empty(rq.containerStart(container), { ...options, waiting: true });
  }

  pauseContainer(container: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.containerPause(container), options);
  }

  unpauseContainer(container: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.containerUnpause(container), options);
  }

  /** `timeoutSeconds` is Docker's grace period before SIGKILL; the call's own timeout should exceed it. */
  stopContainer(container: string, stop: { timeoutSeconds?: number; signal?: string } = {}, options: CallOptions = {}): Promise<void> {
    const graceMs = (stop.timeoutSeconds ?? 10) * 1000;
    return this.empty(rq.containerStop(container, stop), { ...options, timeoutMs: options.timeoutMs ?? graceMs + 30_000, waiting: true });
  }

  killContainer(container: string, signal?: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.containerKill(container, signal), options);
  }

  removeContainer(container: string, remove: { force?: boolean; volumes?: boolean } = {}, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.containerRemove(container, remove), options);
  }

  renameContainer(container: string, name: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.containerRename(container, name), options);
  }

  waitContainer(container: string, condition?: 'not-running' | 'next-exit' | 'removed', options: CallOptions = {}): Promise<{ StatusCode: number; Error?: { Message?: string } | null }> {
    return this.json(rq.containerWait(container, condition), { ...options, waiting: true });
  }

  /**
   * Reads `path` of a container as a tar stream, handed to `consume` (which must read it to the end
   * or fail); resolves with what `consume` returns. Archives can be large: the default timeout is an hour.
   */
  getArchive<T>(container: string, path: string, consume: (tar: Readable) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const request = rq.containerArchiveGet(container, path);
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      return consume(response);
    }, { ...options, timeoutMs: options.timeoutMs ?? ARCHIVE_TIMEOUT_MS });
  }

  /** Whether `path` exists in a container (running or not). */
  async pathExists(container: string, path: string, options: CallOptions = {}): Promise<boolean> {
    const request = rq.containerArchiveStat(container, path);
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      await drain(response);
      return response.statusCode === 200;
    }, options);
  }

  /** Extracts the tar `body` into the directory `path` of a container. */
  putArchive(container: string, path: string, body: Buffer | Readable, options: CallOptions = {}): Promise<void> {
    const request = rq.containerArchivePut(container, path);
    return this.#exchange(request, body, async (response) => {
      await this.#expectOk(request, response);
      await drain(response);
    }, { ...options, timeoutMs: options.timeoutMs ?? ARCHIVE_TIMEOUT_MS });
  }

  /** Logs up to now (no follow), split by stream. `tty` as the container was created; guessed when omitted. */
  async containerLogs(
    container: string,
    query: Omit<ContainerLogsQuery, 'follow'> = {},
    options: CallOptions & { tty?: boolean } = {},
  ): Promise<{ stdout: string; stderr: string; truncated: boolean }> {
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    let size = 0;
    let truncated = false;
    await this.#streamLogs(container, { ...query, follow: false }, options.tty, (chunk) => {
      if (size + chunk.data.length > MAX_LOG_BYTES) {
        truncated = true;
        return;
      }
      size += chunk.data.length;
      if (chunk.stream === 'stderr') out.stderr.push(chunk.data);
      else out.stdout.push(chunk.data);
    }, options);
    return { stdout: Buffer.concat(out.stdout).toString('utf8'), stderr: Buffer.concat(out.stderr).toString('utf8'), truncated };
  }

  /** Follows logs until the container stops, the signal aborts or the connection ends. */
  followContainerLogs(
    container: string,
    query: Omit<ContainerLogsQuery, 'follow'>,
    onChunk: (chunk: LogChunk) => void | Promise<void>,
    options: { signal: AbortSignal; tty?: boolean },
  ): Promise<void> {
    return this.streamContainerLogs(container, { ...query, follow: true }, onChunk, options);
  }

  /**
   * Streams logs (followed or up to now) outside the per-host operation limit, for readers that may
   * take as long as they like: the next chunk is read only once `onChunk`'s promise settles, so a slow
   * reader holds the stream back (down to the engine) instead of buffering it here.
   */
  streamContainerLogs(
    container: string,
    query: ContainerLogsQuery,
    onChunk: (chunk: LogChunk) => void | Promise<void>,
    options: { signal: AbortSignal; tty?: boolean },
  ): Promise<void> {
    return this.#streamLogs(container, query, options.tty, onChunk, { signal: options.signal, timeoutMs: Infinity }, true);
  }

  // --- images -----------------------------------------------------------------------------------

  listImages(query: { all?: boolean; filters?: DockerFilters } = {}, options: CallOptions = {}): Promise<DockerImageSummary[]> {
    return this.json(rq.imageList(query), options);
  }

  inspectImage(image: string, options: CallOptions = {}): Promise<DockerImageInspect> {
    return this.json(rq.imageInspect(image), options);
  }

  /** Pulls an image; progress lines go to `onProgress`. An error reported inside the stream rejects. */
  pullImage(
    reference: string,
    pull: { platform?: string; auth?: RegistryAuth; onProgress?: (progress: DockerProgress) => void } = {},
    options: CallOptions = {},
  ): Promise<void> {
    const request = rq.imagePull(reference, pull);
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      await this.#readProgress(request, response, pull.onProgress);
    }, { ...options, timeoutMs: options.timeoutMs ?? PULL_TIMEOUT_MS });
  }

  tagImage(image: string, repo: string, tag?: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.imageTag(image, repo, tag), options);
  }

  removeImage(image: string, remove: { force?: boolean; noPrune?: boolean } = {}, options: CallOptions = {}): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    return this.json(rq.imageRemove(image, remove), options);
  }

  /** Builds from a tar build context; resolves with the new image's ID. */
  buildImage(
    context: Buffer | Readable,
    query: BuildQuery = {},
    build: { onProgress?: (progress: DockerProgress) => void } = {},
    options: CallOptions = {},
  ): Promise<{ imageId: string | undefined }> {
    const request = rq.build(query);
    return this.#exchange(request, context, async (response) => {
      await this.#expectOk(request, response);
      let imageId: string | undefined;
      await this.#readProgress(request, response, (progress) => {
        if (typeof progress.aux?.ID === 'string') imageId = progress.aux.ID;
        build.onProgress?.(progress);
      });
      return { imageId };
    }, { ...options, timeoutMs: options.timeoutMs ?? BUILD_TIMEOUT_MS });
  }

  // --- networks and volumes ---------------------------------------------------------------------

  listNetworks(filters?: DockerFilters, options: CallOptions = {}): Promise<DockerNetworkInspect[]> {
    return this.json(rq.networkList(filters), options);
  }

  inspectNetwork(network: string, options: CallOptions = {}): Promise<DockerNetworkInspect> {
    return this.json(rq.networkInspect(network), options);
  }

  createNetwork(config: { Name: string; [field: string]: unknown }, options: CallOptions = {}): Promise<{ Id: string; Warning?: string }> {
    return this.json(rq.networkCreate(config), options);
  }

  removeNetwork(network: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.networkRemove(network), options);
  }

  connectNetwork(network: string, container: string, endpointConfig?: object, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.networkConnect(network, container, endpointConfig), options);
  }

  disconnectNetwork(network: string, container: string, force?: boolean, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.networkDisconnect(network, container, force), options);
  }

  async listVolumes(filters?: DockerFilters, options: CallOptions = {}): Promise<DockerVolumeList['Volumes'] & object> {
    const list = await this.json<DockerVolumeList>(rq.volumeList(filters), options);
    return list.Volumes ?? [];
  }

  inspectVolume(volume: string, options: CallOptions = {}): Promise<DockerVolumeInspect> {
    return this.json(rq.volumeInspect(volume), options);
  }

  createVolume(config: { Name: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }, options: CallOptions = {}): Promise<DockerVolumeInspect> {
    return this.json(rq.volumeCreate(config), options);
  }

  removeVolume(volume: string, remove: { force?: boolean } = {}, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.volumeRemove(volume, remove), options);
  }

  // --- swarm ------------------------------------------------------------------------------------

  listServices(filters?: DockerFilters, options: CallOptions = {}): Promise<SwarmService[]> {
    return this.json(rq.serviceList(filters), options);
  }

  inspectService(service: string, options: CallOptions = {}): Promise<SwarmService> {
    return this.json(rq.serviceInspect(service), options);
  }

  /** The ServiceSpec may hold secret values (env): it goes to the manager, never into a log. */
  createService(spec: object, options: CallOptions = {}): Promise<{ ID: string; Warnings?: string[] | null }> {
    return this.json(rq.serviceCreate(spec), options);
  }

  updateService(service: string, version: number, spec: object, options: CallOptions = {}): Promise<{ Warnings?: string[] | null }> {
    return this.json(rq.serviceUpdate(service, version, spec), options);
  }

  /** Swarm's own rollback to the service's previous spec; `currentSpec` is the service's Spec as inspected. */
  rollbackService(service: string, version: number, currentSpec: object, options: CallOptions = {}): Promise<{ Warnings?: string[] | null }> {
    return this.json(rq.serviceRollback(service, version, currentSpec), options);
  }

  removeService(service: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.serviceRemove(service), options);
  }

  /** Swarm configs or secrets; a secret's content never comes back. */
  listSwarmFiles(kind: 'config' | 'secret', filters?: DockerFilters, options: CallOptions = {}): Promise<SwarmFileObject[]> {
    return this.json(rq.swarmFileList(kind, filters), options);
  }

  /** `data` is the content (a secret's value): it goes to the manager, never into a log. */
  createSwarmFile(kind: 'config' | 'secret', name: string, labels: Record<string, string>, data: Buffer, options: CallOptions = {}): Promise<{ ID: string }> {
    return this.json(rq.swarmFileCreate(kind, { Name: name, Labels: labels, Data: data.toString('base64') }), options);
  }

  removeSwarmFile(kind: 'config' | 'secret', object: string, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.swarmFileRemove(kind, object), options);
  }

  listTasks(filters?: DockerFilters, options: CallOptions = {}): Promise<SwarmTask[]> {
    return this.json(rq.taskList(filters), options);
  }

  inspectTask(task: string, options: CallOptions = {}): Promise<SwarmTask> {
    return this.json(rq.taskInspect(task), options);
  }

  listNodes(filters?: DockerFilters, options: CallOptions = {}): Promise<SwarmNode[]> {
    return this.json(rq.nodeList(filters), options);
  }

  inspectNode(node: string, options: CallOptions = {}): Promise<SwarmNode> {
    return this.json(rq.nodeInspect(node), options);
  }

  updateNode(node: string, version: number, spec: NonNullable<SwarmNode['Spec']>, options: CallOptions = {}): Promise<void> {
    return this.empty(rq.nodeUpdate(node, version, spec), options);
  }

  // --- events -----------------------------------------------------------------------------------

  /**
   * Streams daemon events to `onEvent` until the signal aborts (resolves) or the stream ends: the
   * daemon closing it resolves, a broken connection rejects. Either way the caller has a gap to fill.
   * `onOpen` runs once the daemon has accepted the subscription.
   */
  streamEvents(
    query: EventsQuery,
    onEvent: (event: DockerEvent) => void,
    options: { signal: AbortSignal; onOpen?: () => void },
  ): Promise<void> {
    const request = rq.events(query);
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      options.onOpen?.();
      const decoder = new JsonLinesDecoder();
      for await (const chunk of response as AsyncIterable<Buffer>) {
        for (const item of decoder.push(chunk)) onEvent(item as DockerEvent);
      }
      for (const item of decoder.end()) onEvent(item as DockerEvent);
    }, { signal: options.signal, timeoutMs: Infinity, unbounded: true }).catch((err) => {
      if (options.signal.aborted) return;
      throw err;
    });
  }

  // --- generic ----------------------------------------------------------------------------------

  /** Sends any request and decodes a JSON answer (undefined for an empty body). */
  json<T>(request: DockerRequest, options: ExchangeCallOptions = {}): Promise<T> {
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      const body = await readBody(response, MAX_JSON_BYTES, this.server, request);
      if (body.length === 0) return undefined as T;
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch {
        throw new DockerApiError(this.server, response.statusCode ?? 0, describeRequest(request), 'answer is not valid JSON');
      }
    }, options);
  }

  /** Sends any request whose answer carries nothing needed. */
  empty(request: DockerRequest, options: ExchangeCallOptions = {}): Promise<void> {
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      await drain(response);
    }, options);
  }

  /** Forgets the negotiated API version (after a daemon upgrade); the next call asks again. */
  resetApiVersion(): void {
    this.#apiVersion = undefined;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  async #exchange<T>(
    request: DockerRequest,
    body: Buffer | Readable | undefined,
    consume: Consumer<T>,
    options: ExchangeCallOptions,
  ): Promise<T> {
    const version = request.unversioned ? undefined : await this.#negotiatedVersion(options);
    return this.#transport.exchange(request, requestTarget(request, version), body, consume, {
      operation: describeRequest(request),
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      unbounded: options.unbounded,
      waiting: options.waiting,
    });
  }

  async #negotiatedVersion(options: CallOptions): Promise<string> {
    if (this.#apiVersion) return this.#apiVersion;
    // Calls made together before the version is known share one ping.
    this.#negotiation ??= this.#negotiate(options).finally(() => (this.#negotiation = undefined));
    return this.#negotiation;
  }

  async #negotiate(options: CallOptions): Promise<string> {
    const { apiVersion } = await this.ping({ signal: options.signal, timeoutMs: options.timeoutMs });
    if (!/^\d+\.\d+$/.test(apiVersion)) throw new DockerUnavailable(this.server, 'daemon did not report its API version');
    if (compareVersions(apiVersion, MIN_API_VERSION) < 0) {
      throw new DockerUnavailable(this.server, `Docker API ${apiVersion} is older than the oldest supported (${MIN_API_VERSION}, Docker 19.03)`);
    }
    this.#apiVersion = compareVersions(apiVersion, MAX_API_VERSION) < 0 ? apiVersion : MAX_API_VERSION;
    return this.#apiVersion;
  }

  async #expectOk(request: DockerRequest, response: IncomingMessage): Promise<void> {
    const status = response.statusCode ?? 0;
    if ((status >= 200 && status < 300) || request.okStatuses?.includes(status)) return;
    const body = await readBody(response, MAX_ERROR_BYTES, this.server, request).catch(() => Buffer.alloc(0));
    throw new DockerApiError(this.server, status, describeRequest(request), errorMessage(body, status));
  }

  async #readProgress(request: DockerRequest, response: IncomingMessage, onProgress?: (progress: DockerProgress) => void): Promise<void> {
    const decoder = new JsonLinesDecoder();
    const handle = (item: unknown) => {
      const progress = item as DockerProgress;
      if (progress.error || progress.errorDetail?.message) {
        throw new DockerApiError(this.server, 0, describeRequest(request), progress.errorDetail?.message ?? progress.error ?? 'failed');
      }
      onProgress?.(progress);
    };
    for await (const chunk of response as AsyncIterable<Buffer>) decoder.push(chunk).forEach(handle);
    decoder.end().forEach(handle);
  }

  #streamLogs(
    container: string,
    query: ContainerLogsQuery,
    tty: boolean | undefined,
    onChunk: (chunk: LogChunk) => void | Promise<void>,
    options: CallOptions,
    unbounded = false,
  ): Promise<void> {
    const request = rq.containerLogs(container, query);
    return this.#exchange(request, undefined, async (response) => {
      await this.#expectOk(request, response);
      const demuxer = new LogDemuxer(tty);
      for await (const chunk of response as AsyncIterable<Buffer>) {
        for (const frame of demuxer.push(chunk)) await onChunk(frame);
      }
      for (const frame of demuxer.end()) await onChunk(frame);
    }, { ...options, unbounded }).catch((err) => {
      if (unbounded && options.signal?.aborted) return;
      throw err;
    });
  }
}

export function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

function errorMessage(body: Buffer, status: number): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: some proxies and old daemons answer in plain text.
  }
  return text.slice(0, 500) || `HTTP ${status}`;
}

async function readBody(response: IncomingMessage, limit: number, server: string, request: DockerRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      throw new DockerApiError(server, response.statusCode ?? 0, describeRequest(request), `answer larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function drain(response: IncomingMessage): Promise<void> {
  for await (const _ of response as AsyncIterable<Buffer>) {
    // Reading to the end returns the connection to the keep-alive pool.
  }
}
