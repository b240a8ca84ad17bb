// How Engine API requests reach a daemon: over the server's kept SSH session (each HTTP connection is
// a channel to the docker socket, pooled with keep-alive), or straight to a local unix socket for a
// Server of kind `local`. Both bound every exchange with the host's operation slots and a timeout.
import http, { type ClientRequestArgs, type IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { systemClock, type Clock } from './clock.js';
import type { DockerRequest } from './docker-requests.js';
import { DockerUnavailable, HostError, OperationAborted, OperationTimeout, SessionClosed } from './errors.js';
import { quoteArgv } from './exec.js';
import type { HostObserver } from './observer.js';
import { Semaphore } from './semaphore.js';
import { abortable, openExec, openStreamLocal, type RunOptions, type SshSession } from './ssh-session.js';

export interface ExchangeOptions extends RunOptions {
  /** Names the exchange in timeout and abort errors, e.g. `GET /containers/json`. */
  operation: string;
}

/** Reads a response; it must consume or destroy the body before resolving. */
export type ResponseConsumer<T> = (response: IncomingMessage, signal: AbortSignal) => Promise<T>;

export interface DockerTransport {
  readonly server: string;
  /** Sends `request` to `target` (path and query) and hands the response to `consume`, all within one bounded operation. */
  exchange<T>(
    request: DockerRequest,
    target: string,
    body: Buffer | Readable | undefined,
    consume: ResponseConsumer<T>,
    options: ExchangeOptions,
  ): Promise<T>;
  close(): Promise<void>;
}

// Idle channels kept open per host: cheap on both ends (sshd holds a socket to dockerd, nothing more).
const MAX_IDLE_CONNECTIONS = 4;
// SSH_OPEN_ADMINISTRATIVELY_PROHIBITED: the server forbids stream-local forwarding.
const OPEN_PROHIBITED = 1;
// SSH_OPEN_CONNECT_FAILED: sshd could not connect to the socket.
const OPEN_CONNECT_FAILED = 2;

interface SshRequestArgs extends ClientRequestArgs {
  sshClient: Client;
}

/** Engine API over a kept SSH session to the daemon's unix socket on the host. */
export class SshDockerTransport implements DockerTransport {
  readonly server: string;
  readonly #session: SshSession;
  readonly #socketPath: string;
  readonly #observer?: HostObserver;
  readonly #agent: http.Agent;
  #mode: 'stream-local' | 'dial-stdio' = 'stream-local';

  constructor(session: SshSession, socketPath: string, options: { observer?: HostObserver } = {}) {
    this.server = session.server;
    this.#session = session;
    this.#socketPath = socketPath;
    this.#observer = options.observer;
    this.#agent = new http.Agent({ keepAlive: true, maxFreeSockets: MAX_IDLE_CONNECTIONS, scheduling: 'lifo' });
    this.#agent.createConnection = (options, callback) => {
      this.#openConnection((options as SshRequestArgs).sshClient).then(
        (stream) => callback?.(null, stream),
        (err: Error) => callback?.(err, undefined as unknown as Duplex),
      );
      return undefined;
    };
  }

  /** How connections reach the socket: a forwarded stream, or `docker system dial-stdio` where forwarding is refused. */
  get mode(): 'stream-local' | 'dial-stdio' {
    return this.#mode;
  }

  exchange<T>(
    request: DockerRequest,
    target: string,
    body: Buffer | Readable | undefined,
    consume: ResponseConsumer<T>,
    options: ExchangeOptions,
  ): Promise<T> {
    return this.#session.run(
      options.operation,
      async (sshClient, signal) => {
        this.#observer?.dockerApiCall?.(this.server);
        const args: SshRequestArgs = { agent: this.#agent, host: 'docker', sshClient };
        try {
          const response = await sendHttp(this.server, args, request, target, body, signal);
          return await consumeWithin(response, signal, consume);
        } catch (err) {
          if (signal.aborted || err instanceof HostError) throw err;
          throw new DockerUnavailable(this.server, `${options.operation}: ${describe(err)}`, err);
        }
      },
      options,
    );
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  async #openConnection(client: Client): Promise<Duplex> {
    if (this.#mode === 'stream-local') {
      try {
        return asHttpSocket(await openStreamLocal(client, this.#socketPath));
      } catch (err) {
        const reason = (err as { reason?: unknown }).reason;
        if (reason === OPEN_CONNECT_FAILED) {
          throw new DockerUnavailable(this.server, `${this.#socketPath} did not accept a connection (is dockerd running?)`, err);
        }
        if (reason !== OPEN_PROHIBITED) throw err;
        this.#mode = 'dial-stdio';
      }
    }
    return asHttpSocket(await this.#dialStdio(client));
  }

  async #dialStdio(client: Client): Promise<ClientChannel> {
    this.#observer?.exec?.(this.server);
    const channel = await openExec(client, quoteArgv(['docker', '-H', `unix://${this.#socketPath}`, 'system', 'dial-stdio']));
    let stderr = '';
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2048) stderr += chunk.toString();
    });
    // A dial-stdio that cannot reach the daemon exits at once; failing the stream carries its reason
    // to the HTTP request instead of a bare "socket hang up".
    channel.once('exit', (code: number | null) => {
      if (code !== 0) {
        (channel as unknown as Duplex).destroy(
          new DockerUnavailable(this.server, `docker system dial-stdio: ${stderr.trim() || `exit status ${code}`}`),
        );
      }
    });
    return channel;
  }
}

/** Engine API on a unix socket of this machine (Servers of kind `local`). */
export class LocalDockerTransport implements DockerTransport {
  readonly server: string;
  readonly #socketPath: string;
  readonly #agent: http.Agent;
  readonly #slots: Semaphore;
  readonly #clock: Clock;
  readonly #observer?: HostObserver;
  readonly #defaultTimeoutMs: number;
  #closed = false;

  constructor(
    server: string,
    socketPath: string,
    options: { maxConcurrentOperations?: number; operationTimeoutMs?: number; clock?: Clock; observer?: HostObserver } = {},
  ) {
    this.server = server;
    this.#socketPath = socketPath;
    this.#agent = new http.Agent({ keepAlive: true, maxFreeSockets: MAX_IDLE_CONNECTIONS, scheduling: 'lifo' });
    this.#slots = new Semaphore(options.maxConcurrentOperations ?? 6);
    this.#clock = options.clock ?? systemClock;
    this.#observer = options.observer;
    this.#defaultTimeoutMs = options.operationTimeoutMs ?? 60_000;
  }

  async exchange<T>(
    request: DockerRequest,
    target: string,
    body: Buffer | Readable | undefined,
    consume: ResponseConsumer<T>,
    options: ExchangeOptions,
  ): Promise<T> {
    if (this.#closed) throw new SessionClosed(this.server);
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const controller = new AbortController();
    const timer = Number.isFinite(timeoutMs)
      ? this.#clock.setTimeout(() => controller.abort(new OperationTimeout(this.server, options.operation, timeoutMs)), timeoutMs)
      : undefined;
    const onCallerAbort = () => controller.abort(new OperationAborted(this.server, options.operation));
    if (options.signal?.aborted) onCallerAbort();
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const signal = controller.signal;
    let release: (() => void) | undefined;
    try {
      if (!options.unbounded) release = await this.#slots.acquire(signal);
      this.#observer?.dockerApiCall?.(this.server);
      const response = await sendHttp(this.server, { agent: this.#agent, socketPath: this.#socketPath, host: 'docker' }, request, target, body, signal);
      return await consumeWithin(response, signal, consume);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') {
        throw new DockerUnavailable(this.server, `${this.#socketPath}: ${code}`, err);
      }
      if (err instanceof HostError) throw err;
      throw new DockerUnavailable(this.server, `${options.operation}: ${describe(err)}`, err);
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
      release?.();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#agent.destroy();
  }
}

/** Sends the request; resolves with the response head. Aborting the signal destroys the request. */
function sendHttp(
  server: string,
  args: ClientRequestArgs,
  request: DockerRequest,
  target: string,
  body: Buffer | Readable | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const headers: Record<string, string | number> = { ...request.headers };
    let payload: Buffer | Readable | undefined = body;
    if (request.body !== undefined) {
      payload = Buffer.from(JSON.stringify(request.body));
      headers['Content-Type'] = 'application/json';
    } else if (body !== undefined) {
      headers['Content-Type'] = request.bodyContentType ?? 'application/octet-stream';
    }
    if (Buffer.isBuffer(payload)) headers['Content-Length'] = payload.length;
    else if (payload === undefined && request.method !== 'GET' && request.method !== 'HEAD') headers['Content-Length'] = 0;

    const req = http.request({ ...args, method: request.method, path: target, headers });
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new OperationAborted(server, request.path));
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('response', (response) => {
      // The consumer takes over; its own abort handling covers the body.
      signal.removeEventListener('abort', onAbort);
      resolve(response);
    });
    req.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(signal.aborted ? signal.reason : err);
    });
    if (payload === undefined) req.end();
    else if (Buffer.isBuffer(payload)) req.end(payload);
    else {
      payload.once('error', (err) => req.destroy(err));
      payload.pipe(req);
    }
  });
}

/** Runs the consumer; an abort while it reads destroys the body, which fails the read. */
async function consumeWithin<T>(response: IncomingMessage, signal: AbortSignal, consume: ResponseConsumer<T>): Promise<T> {
  const onAbort = () => response.destroy(signal.reason instanceof Error ? signal.reason : undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await abortable(consume(response, signal), signal, () => signal.reason);
  } catch (err) {
    if (!response.complete) response.destroy();
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Node's HTTP agent treats its connections as sockets (keep-alive, timeouts, ref counting). An SSH
 * channel is a plain duplex stream, so it gets the few socket methods the agent calls, as no-ops:
 * the SSH connection under it has its own keepalive.
 */
function asHttpSocket(channel: ClientChannel): Duplex {
  const socket = channel as unknown as Duplex & Record<string, unknown>;
  const self = () => socket;
  socket.setKeepAlive ??= self;
  socket.setNoDelay ??= self;
  socket.setTimeout ??= self;
  socket.ref ??= self;
  socket.unref ??= self;
  return socket;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
