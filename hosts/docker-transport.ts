// How Engine API requests reach a daemon: over the server's kept SSH session (each HTTP connection is
// a channel to the docker socket, pooled with keep-alive), or straight to a local unix socket for a
// Server of kind `local`. Both bound every exchange with the host's operation slots and a timeout.
import http, { type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { createConnection } from 'node:net';
import { Duplex, type Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { systemClock, type Clock } from './clock.js';
import type { DockerRequest } from './docker-requests.js';
import { DockerUnavailable, HostError, OperationAborted, OperationTimeout, SessionClosed } from './errors.js';
import { quoteArgv } from './exec.js';
import type { HostObserver } from '../core/observers.js';
import { Semaphore } from './semaphore.js';
import { abortable, openExec, openStreamLocal, type RunOptions, type SshSession } from './ssh-session.js';

export interface ExchangeOptions extends RunOptions {
  /** Names the exchange in timeout and abort errors, e.g. `GET /containers/json`. */
  operation: string;
  /**
   * The exchange mostly waits on the daemon (a stop's grace period, a container wait): it takes one
   * of the host's wait slots instead of an operation slot, so that many rollouts stopping containers
   * at once do not hold back the short calls (inspects, creates, starts) behind them.
   */
  waiting?: boolean;
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
  /**
   * Sends `request` as an HTTP upgrade (exec start). On `101` the connection is handed over and lives
   * on outside the host's operation slots until the caller ends it; any other answer comes back as
   * the response to read. Only the exchange up to the answer is bounded by the timeout.
   */
  upgrade(request: DockerRequest, target: string, options: ExchangeOptions): Promise<UpgradeResult>;
  close(): Promise<void>;
}

export type UpgradeResult =
  | { upgraded: true; socket: Duplex; head: Buffer }
  | { upgraded: false; response: IncomingMessage };

// Idle channels kept open per host: cheap on both ends (sshd holds a socket to dockerd, nothing more).
const MAX_IDLE_CONNECTIONS = 4;
// Exchanges that wait on the daemon at once per host, beside the operation slots. Over SSH each is a
// forwarded channel (sshd's MaxSessions does not count those); dockerd holds an idle request each.
const MAX_CONCURRENT_WAITS = 64;
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
  readonly #waitSlots = new Semaphore(MAX_CONCURRENT_WAITS);
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

  async exchange<T>(
    request: DockerRequest,
    target: string,
    body: Buffer | Readable | undefined,
    consume: ResponseConsumer<T>,
    options: ExchangeOptions,
  ): Promise<T> {
    const run = (runOptions: RunOptions) =>
      this.#session.run(
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
        runOptions,
      );
    // Over dial-stdio each connection is an exec session, which sshd's MaxSessions counts: there a
    // wait takes an operation slot like any other exchange.
    if (!options.waiting || options.unbounded || this.#mode !== 'stream-local') return run(options);
    const release = await this.#waitSlots.acquire(options.signal).catch(() => {
      throw new OperationAborted(this.server, options.operation);
    });
    try {
      return await run({ ...options, unbounded: true });
    } finally {
      release();
    }
  }

  upgrade(request: DockerRequest, target: string, options: ExchangeOptions): Promise<UpgradeResult> {
    return this.#session.run(
      options.operation,
      async (sshClient, signal) => {
        this.#observer?.dockerApiCall?.(this.server);
        // Its own channel, not one from the keep-alive pool: it will never come back to the pool.
        const args: ClientRequestArgs = {
          host: 'docker',
          createConnection: (_options, callback) => {
            this.#openConnection(sshClient).then(
              (stream) => callback(null, stream as never),
              (err: Error) => callback(err, undefined as never),
            );
            return undefined as never;
          },
        };
        try {
          return await sendUpgrade(this.server, args, request, target, signal);
        } catch (err) {
          if (signal.aborted || err instanceof HostError) throw err;
          throw new DockerUnavailable(this.server, `${options.operation}: ${describe(err)}`, err);
        }
      },
      { ...options, unbounded: true },
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
        if (reason !== OPEN_PROHIBITED && reason !== OPEN_CONNECT_FAILED) throw err;
        // OpenSSH answers "connect failed" both when forwarding is off and when nothing listens on
        // the socket; dial-stdio tells the two apart (and is the way in when forwarding is off).
        return asHttpSocket(await this.#dialStdio(client, `${this.#socketPath} did not accept a forwarded connection`));
      }
    }
    return asHttpSocket(await this.#dialStdio(client));
  }

  async #dialStdio(client: Client, forwardingFailure?: string): Promise<Duplex> {
    this.#observer?.exec?.(this.server);
    const channel = await openExec(client, quoteArgv(['docker', '-H', `unix://${this.#socketPath}`, 'system', 'dial-stdio']));
    // The daemon answered through dial-stdio: use it from now on.
    channel.once('data', () => {
      if (this.#mode === 'stream-local') this.#mode = 'dial-stdio';
    });
    return new ExitAwareStream(channel, (code, stderr) => {
      const detail = `docker system dial-stdio: ${stderr || `exit status ${code}`}`;
      return new DockerUnavailable(this.server, forwardingFailure ? `${forwardingFailure} (is dockerd running?); ${detail}` : detail);
    });
  }
}

/**
 * A command's stdio as a stream that ends only once the command's exit status is known, and fails
 * with the command's own error when it exits non-zero. `docker system dial-stdio` that cannot reach
 * the daemon closes its output first and reports why on stderr; a plain channel would show the HTTP
 * client only a "socket hang up".
 */
class ExitAwareStream extends Duplex {
  readonly #channel: ClientChannel;

  constructor(channel: ClientChannel, failure: (code: number | null, stderr: string) => Error) {
    super({ allowHalfOpen: false });
    this.#channel = channel;
    let stderr = '';
    let ended = false;
    let exit: { code: number | null } | undefined;
    const settle = () => {
      if (!ended || !exit || this.destroyed) return;
      if (exit.code === 0) this.push(null);
      else this.destroy(failure(exit.code, stderr.trim()));
    };
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2048) stderr += chunk.toString();
    });
    channel.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) channel.pause();
    });
    channel.on('end', () => {
      ended = true;
      settle();
    });
    channel.on('exit', (code: number | null) => {
      exit = { code };
      settle();
    });
    channel.on('close', () => {
      ended = true;
      exit ??= { code: null };
      settle();
    });
  }

  override _read(): void {
    this.#channel.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#channel.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#channel.close();
    callback(error);
  }
}

/** Engine API on a unix socket of this machine (Servers of kind `local`). */
export class LocalDockerTransport implements DockerTransport {
  readonly server: string;
  readonly #socketPath: string;
  readonly #agent: http.Agent;
  readonly #slots: Semaphore;
  readonly #waitSlots = new Semaphore(MAX_CONCURRENT_WAITS);
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
    const onCallerAbort = () => controller.abort(new OperationAborted(this.server, options.operation));
    if (options.signal?.aborted) onCallerAbort();
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const signal = controller.signal;
    let release: (() => void) | undefined;
    let timer: unknown;
    try {
      // As over SSH: the timeout counts from when the exchange gets a slot, not while it queues.
      if (!options.unbounded) release = await (options.waiting ? this.#waitSlots : this.#slots).acquire(signal);
      if (Number.isFinite(timeoutMs)) {
        timer = this.#clock.setTimeout(() => controller.abort(new OperationTimeout(this.server, options.operation, timeoutMs)), timeoutMs);
      }
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
      this.#clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
      release?.();
    }
  }

  async upgrade(request: DockerRequest, target: string, options: ExchangeOptions): Promise<UpgradeResult> {
    if (this.#closed) throw new SessionClosed(this.server);
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const signal = AbortSignal.any([
      ...(options.signal ? [options.signal] : []),
      AbortSignal.timeout(Number.isFinite(timeoutMs) ? timeoutMs : 2 ** 31 - 1),
    ]);
    this.#observer?.dockerApiCall?.(this.server);
    try {
      return await sendUpgrade(this.server, { host: 'docker', createConnection: () => createConnection(this.#socketPath) }, request, target, signal);
    } catch (err) {
      if (options.signal?.aborted) throw new OperationAborted(this.server, options.operation);
      if (signal.aborted) throw new OperationTimeout(this.server, options.operation, timeoutMs);
      if (err instanceof HostError) throw err;
      throw new DockerUnavailable(this.server, `${options.operation}: ${describe(err)}`, err);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#agent.destroy();
  }
}

/** Sends an upgrade request; resolves with the handed-over connection, or the answer when the daemon declined. */
function sendUpgrade(server: string, args: ClientRequestArgs, request: DockerRequest, target: string, signal: AbortSignal): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const headers: Record<string, string | number> = { ...request.headers };
    const payload = request.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(request.body));
    if (request.body !== undefined) headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = payload.length;
    const req = http.request({ ...args, method: request.method, path: target, headers });
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new OperationAborted(server, request.path));
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal.removeEventListener('abort', onAbort);
    req.once('upgrade', (_response, socket, head) => {
      settle();
      resolve({ upgraded: true, socket: socket as Duplex, head });
    });
    req.once('response', (response) => {
      settle();
      resolve({ upgraded: false, response });
    });
    req.once('error', (err) => {
      settle();
      reject(signal.aborted ? signal.reason : err);
    });
    req.end(payload);
  });
}

/**
 * Sends the request; resolves with the response head. A GET that fails on a kept-alive connection the
 * daemon had just closed (it restarted, say) is sent once more on a fresh one, as browsers do.
 */
async function sendHttp(
  server: string,
  args: ClientRequestArgs,
  request: DockerRequest,
  target: string,
  body: Buffer | Readable | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  try {
    return await sendHttpOnce(server, args, request, target, body, signal);
  } catch (err) {
    const stale = (err as { reusedSocket?: boolean; code?: string }).reusedSocket && (err as { code?: string }).code === 'ECONNRESET';
    if (!stale || signal.aborted || (request.method !== 'GET' && request.method !== 'HEAD')) throw err;
    return sendHttpOnce(server, args, request, target, body, signal);
  }
}

function sendHttpOnce(
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
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      (err as { reusedSocket?: boolean }).reusedSocket = req.reusedSocket;
      reject(err);
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
 * the SSH connection under it has its own keepalive. It also has to close the way a socket does, or
 * the pool keeps dead channels: an idle channel keeps reading (so the end of the stream is seen
 * even when no request is reading it), and an end from the daemon ends our side too (so sshd closes
 * the channel instead of holding it half-open).
 */
function asHttpSocket(channel: ClientChannel | Duplex): Duplex {
  const socket = channel as unknown as Duplex & Record<string, unknown>;
  const self = () => socket;
  socket.setKeepAlive ??= self;
  socket.setNoDelay ??= self;
  socket.setTimeout ??= self;
  socket.ref ??= self;
  socket.unref ??= self;
  socket.on('free', () => socket.resume());
  socket.on('end', () => socket.end());
  return socket;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
