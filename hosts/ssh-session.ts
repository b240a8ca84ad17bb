// One kept SSH connection per server. Everything the control plane does on a host (Docker API calls,
// the odd shell command) runs as a channel over this connection, inside `run()`, which bounds how many
// operations run at once and how long each may take. The session reconnects by itself with
// full-jitter exponential backoff after a transient failure; a host key mismatch or a refused key stops
// it until someone calls connect() again (or makes a new session with a corrected config).
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { BackoffPolicy } from '../core/backoff.js';
import { systemClock, type Clock } from './clock.js';
import {
  AuthenticationFailed,
  ConnectionLost,
  ConnectionRefused,
  ConnectTimeout,
  HostError,
  HostKeyMismatch,
  HostUnreachable,
  OperationAborted,
  OperationTimeout,
  SessionClosed,
} from './errors.js';
import type { HostObserver, SessionState } from '../core/observers.js';
import { DEFAULT_RECONNECT_POLICY, ReconnectBackoff } from './reconnect-backoff.js';
import { Semaphore } from './semaphore.js';
import { normaliseFingerprint, sshFingerprint } from '../core/ssh-fingerprint.js';

export interface SshTarget {
  /** Name of the Server resource, used in errors and reports. */
  server: string;
  host: string;
  port: number;
  user: string;
  /** Decrypted private key (OpenSSH or PEM). Kept out of every message and log. */
  privateKey: string | Buffer;
  /** `SHA256:…` pin. Without one, the first key seen is reported and then enforced for this session. */
  hostKeyFingerprint?: string;
}

export interface SshSessionOptions {
  /** TCP connect + SSH handshake + authentication. */
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as lost. */
  keepaliveCountMax?: number;
  /** Operations allowed to run at once on this host; more wait in line. */
  maxConcurrentOperations?: number;
  /** Default for run() when the caller gives none. */
  operationTimeoutMs?: number;
  /** Backoff between reconnect attempts, or false to never reconnect by itself. */
  reconnect?: BackoffPolicy | false;
  clock?: Clock;
  random?: () => number;
  /** Called with the host key fingerprint on first contact when none is pinned, so it can be recorded. */
  onHostKeyObserved?: (fingerprint: string) => void;
  observer?: HostObserver;
}

export interface SessionStateChange {
  server: string;
  state: SessionState;
  previous: SessionState;
  /** Why the session left `connected`, or why an attempt failed. */
  error?: HostError;
  /** Set with `reconnecting`: when the next attempt starts. */
  retryInMs?: number;
  /** Set with `reconnecting`: consecutive failed attempts so far. */
  failures?: number;
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Long-lived watches (event streams) do not take one of the host's operation slots. */
  unbounded?: boolean;
}

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  keepaliveIntervalMs: 10_000,
  keepaliveCountMax: 3,
  maxConcurrentOperations: 6,
  operationTimeoutMs: 60_000,
};

type StateListener = (change: SessionStateChange) => void;

export class SshSession {
  readonly server: string;
  readonly endpoint: string;
  readonly #target: Omit<SshTarget, 'privateKey' | 'hostKeyFingerprint'>;
  readonly #privateKey: string | Buffer;
  readonly #options: typeof DEFAULTS;
  readonly #clock: Clock;
  readonly #backoff: ReconnectBackoff | undefined;
  readonly #slots: Semaphore;
  readonly #listeners = new Set<StateListener>();
  readonly #onHostKeyObserved?: (fingerprint: string) => void;
  readonly #observer?: HostObserver;

  #state: SessionState = 'idle';
  #lastError: HostError | undefined;
  #pinnedFingerprint: string | undefined;
  #observedFingerprint: string | undefined;
  #client: Client | undefined;
  #attempt: Promise<Client> | undefined;
  #retryTimer: unknown;
  /** Rejects when the current connection goes away; in-flight operations race against it. */
  #lost: { promise: Promise<never>; reject: (err: HostError) => void } | undefined;

  constructor(target: SshTarget, options: SshSessionOptions = {}) {
    this.server = target.server;
    this.endpoint = `${target.user}@${target.host}:${target.port}`;
    this.#target = { server: target.server, host: target.host, port: target.port, user: target.user };
    this.#privateKey = target.privateKey;
    if (target.hostKeyFingerprint !== undefined) {
      const pinned = normaliseFingerprint(target.hostKeyFingerprint);
      if (!pinned) {
        throw new TypeError(`server ${target.server}: hostKeyFingerprint must look like SHA256:<43 base64 characters>`);
      }
      this.#pinnedFingerprint = pinned;
    }
    this.#options = {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax,
      maxConcurrentOperations: options.maxConcurrentOperations ?? DEFAULTS.maxConcurrentOperations,
      operationTimeoutMs: options.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs,
    };
    this.#clock = options.clock ?? systemClock;
    this.#backoff =
      options.reconnect === false ? undefined : new ReconnectBackoff(options.reconnect ?? DEFAULT_RECONNECT_POLICY, options.random);
    this.#slots = new Semaphore(this.#options.maxConcurrentOperations);
    this.#onHostKeyObserved = options.onHostKeyObserved;
    this.#observer = options.observer;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The error that last took the session out of `connected` or failed an attempt. */
  get lastError(): HostError | undefined {
    return this.#lastError;
  }

  /** The fingerprint enforced on (re)connects: the configured pin, else the one seen on first contact. */
  get hostKeyFingerprint(): string | undefined {
    return this.#pinnedFingerprint;
  }

  /** The fingerprint the server presented on the last handshake. */
  get observedHostKeyFingerprint(): string | undefined {
    return this.#observedFingerprint;
  }

  get operationsInFlight(): number {
    return this.#slots.inUse;
  }

  onStateChange(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Connects now if not connected (also after `failed`, and skipping a pending backoff delay) and
   * resolves once connected. Rejects with the attempt's typed error.
   */
  async connect(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'closed') throw new SessionClosed(this.server);
    if (this.#state === 'connected') return;
    await abortable(this.#startAttempt(), signal, () => new OperationAborted(this.server, 'connect'));
  }

  /**
   * Runs one operation on the connection: waits for a free slot and a connection (connecting first if
   * the session is idle), then calls `fn` with a signal that aborts on timeout, on the caller's signal
   * or when the connection is lost. While the session waits out a reconnect delay, run() fails at once
   * with the last error instead of queueing.
   */
  async run<T>(operation: string, fn: (client: Client, signal: AbortSignal) => Promise<T>, options: RunOptions = {}): Promise<T> {
    if (this.#state === 'closed') throw new SessionClosed(this.server);
    const timeoutMs = options.timeoutMs ?? this.#options.operationTimeoutMs;
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(new OperationAborted(this.server, operation));
    if (options.signal?.aborted) onCallerAbort();
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const signal = controller.signal;
    let release: (() => void) | undefined;
    let timer: unknown;
    try {
      // Waiting for a slot is bounded by the caller's signal only: the operation's own timeout starts
      // when it runs, or a busy host would time out work that never got to start.
      if (!options.unbounded) release = await this.#slots.acquire(signal);
      // Watches pass an infinite timeout: they live as long as their caller's signal.
      if (Number.isFinite(timeoutMs)) {
        timer = this.#clock.setTimeout(() => controller.abort(new OperationTimeout(this.server, operation, timeoutMs)), timeoutMs);
      }
      const client = await this.#clientFor(signal);
      const lost = this.#lost!.promise;
      try {
        return await Promise.race([abortable(fn(client, signal), signal, () => signal.reason as HostError), lost]);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        // A channel can fail a moment before the connection's own close arrives; give it that moment,
        // then blame the lost connection rather than whatever the channel saw.
        await new Promise((resolve) => setImmediate(resolve));
        const cause = this.#client !== client ? (this.#lastError ?? new ConnectionLost(this.server, this.endpoint, describe(err), err)) : err;
        // The operation may still hold channels or timers; its signal tells it to let go.
        controller.abort(cause);
        throw cause;
      }
    } catch (err) {
      if (signal.aborted && !(err instanceof HostError)) throw signal.reason;
      throw err;
    } finally {
      this.#clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
      release?.();
    }
  }

  /**
   * Opens an interactive shell over the kept connection. Like a watch it takes no operation slot:
   * it lasts as long as the person at the terminal; only the opening is bounded by `timeoutMs`.
   */
  shell(pty: PtyRequest | undefined, options: Omit<RunOptions, 'unbounded'> = {}): Promise<ClientChannel> {
    return this.run('shell', (client) => openShell(client, pty), { ...options, unbounded: true });
  }

  /** Ends the connection and stops reconnecting. Operations in flight fail with SessionClosed. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#clock.clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    this.#lost?.reject(new SessionClosed(this.server));
    this.#setState('closed');
    if (client) await endClient(client);
  }

  async #clientFor(signal: AbortSignal): Promise<Client> {
    switch (this.#state) {
      case 'connected':
        return this.#client!;
      case 'closed':
        throw new SessionClosed(this.server);
      case 'failed':
      case 'reconnecting':
      case 'disconnected':
        throw this.#lastError ?? new ConnectionLost(this.server, this.endpoint, 'not connected');
      case 'idle':
      case 'connecting':
        return abortable(this.#startAttempt(), signal, () => signal.reason as HostError);
    }
  }

  #startAttempt(): Promise<Client> {
    if (this.#attempt) return this.#attempt;
    this.#clock.clearTimeout(this.#retryTimer);
    this.#setState('connecting');
    const attempt = this.#openConnection().then(
      (client) => {
        this.#attempt = undefined;
        if (this.#state === 'closed') {
          void endClient(client);
          throw new SessionClosed(this.server);
        }
        this.#client = client;
        this.#lost = deferredRejection();
        this.#backoff?.reset();
        this.#lastError = undefined;
        this.#setState('connected');
        return client;
      },
      (err: HostError) => {
        this.#attempt = undefined;
        if (this.#state === 'closed') throw new SessionClosed(this.server);
        this.#lastError = err;
        if (!err.transient || !this.#backoff) this.#setState('failed', { error: err });
        else this.#scheduleReconnect(err);
        throw err;
      },
    );
    this.#attempt = attempt;
    // Background reconnects have no awaiting caller.
    attempt.catch(() => undefined);
    return attempt;
  }

  #scheduleReconnect(error: HostError): void {
    const delay = this.#backoff!.nextDelay();
    this.#setState('reconnecting', { error, retryInMs: delay, failures: this.#backoff!.failures });
    this.#retryTimer = this.#clock.setTimeout(() => {
      if (this.#state === 'reconnecting') void this.#startAttempt().catch(() => undefined);
    }, delay);
  }

  #onConnectionGone(client: Client, error: HostError): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#lastError = error;
    this.#lost?.reject(error);
    this.#setState('disconnected', { error });
    if (this.#backoff) this.#scheduleReconnect(error);
    else this.#setState('failed', { error });
  }

  #openConnection(): Promise<Client> {
    const { server, host, port, user } = this.#target;
    const endpoint = this.endpoint;
    const client = new Client();
    let mismatch: HostKeyMismatch | undefined;
    let ready = false;
    let firstError: unknown;

    const config: ConnectConfig = {
      host,
      port,
      username: user,
      privateKey: this.#privateKey,
      readyTimeout: this.#options.connectTimeoutMs,
      keepaliveInterval: this.#options.keepaliveIntervalMs,
      keepaliveCountMax: this.#options.keepaliveCountMax,
      // Runs during key exchange, before any authentication is attempted.
      hostVerifier: (key: Buffer) => {
        const actual = sshFingerprint(key);
        this.#observedFingerprint = actual;
        if (this.#pinnedFingerprint !== undefined) {
          if (actual === this.#pinnedFingerprint) return true;
          mismatch = new HostKeyMismatch(server, this.#pinnedFingerprint, actual, endpoint);
          return false;
        }
        this.#pinnedFingerprint = actual;
        try {
          this.#onHostKeyObserved?.(actual);
        } catch {
          // A failing recorder must not break the connection; the caller learns of the key again later.
        }
        return true;
      },
    };

    return new Promise<Client>((resolve, reject) => {
      let settled = false;
      const fail = (err: HostError) => {
        if (settled) return;
        settled = true;
        client.removeAllListeners('ready');
        void endClient(client);
        reject(err);
      };
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (!ready) {
          firstError ??= err;
          fail(classifyConnectError(mismatch, err, server, endpoint, user, this.#options.connectTimeoutMs));
          return;
        }
        firstError ??= err;
      });
      client.on('close', () => {
        if (!ready) {
          fail(mismatch ?? classifyConnectError(mismatch, firstError ?? new Error('connection closed during handshake'), server, endpoint, user, this.#options.connectTimeoutMs));
          return;
        }
        const detail = firstError ? describe(firstError) : 'closed by the server';
        this.#onConnectionGone(client, new ConnectionLost(server, endpoint, detail, firstError));
      });
      client.once('ready', () => {
        ready = true;
        settled = true;
        resolve(client);
      });
      try {
        client.connect(config);
      } catch (err) {
        // Thrown synchronously for keys ssh2 cannot parse; its messages name the format, not the key.
        fail(new AuthenticationFailed(server, user, `${endpoint}; private key unusable: ${describe(err)}`));
      }
    });
  }

  #setState(state: SessionState, extra: Partial<Pick<SessionStateChange, 'error' | 'retryInMs' | 'failures'>> = {}): void {
    const previous = this.#state;
    if (previous === state && state !== 'reconnecting') return;
    this.#state = state;
    const change: SessionStateChange = { server: this.server, state, previous, ...extra };
    this.#observer?.sessionState?.(this.server, state, previous);
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // Listeners report; they cannot change the session's course.
      }
    }
  }
}

function classifyConnectError(
  mismatch: HostKeyMismatch | undefined,
  err: unknown,
  server: string,
  endpoint: string,
  user: string,
  timeoutMs: number,
): HostError {
  if (mismatch) return mismatch;
  if (err instanceof HostError) return err;
  const e = err as Error & { level?: string; code?: string };
  if (e.level === 'client-authentication') return new AuthenticationFailed(server, user, endpoint);
  if (e.level === 'client-timeout') return new ConnectTimeout(server, endpoint, timeoutMs);
  if (e.level === 'client-dns') return new HostUnreachable(server, endpoint, `name lookup failed (${e.code ?? e.message})`, err);
  switch (e.code) {
    case 'ECONNREFUSED':
      return new ConnectionRefused(server, endpoint, err);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'ETIMEDOUT':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return new HostUnreachable(server, endpoint, e.code, err);
  }
  return new ConnectionLost(server, endpoint, `during handshake: ${describe(err)}`, err);
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err as { code?: string }).code ? `${(err as { code?: string }).code}: ${err.message}` : err.message;
  return String(err);
}

function deferredRejection(): { promise: Promise<never>; reject: (err: HostError) => void } {
  let reject!: (err: HostError) => void;
  const promise = new Promise<never>((_, r) => (reject = r));
  promise.catch(() => undefined);
  return { promise, reject };
}

/** Settles with `promise`, or rejects with `reason()` as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, reason: () => unknown): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    // The work was already started: its own failure (likely caused by the same abort) is not news.
    promise.catch(() => undefined);
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
    };
    client.once('close', finish);
    setTimeout(() => {
      client.destroy();
      finish();
    }, 2_000).unref();
    try {
      client.end();
    } catch {
      finish();
    }
  });
}

/** Opens a channel to a unix socket on the host (OpenSSH `direct-streamlocal`). */
export function openStreamLocal(client: Client, socketPath: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.openssh_forwardOutStreamLocal(socketPath, (err, channel) => (err ? reject(err) : resolve(channel)));
    } catch (err) {
      reject(err);
    }
  });
}

/** Starts a command on the host; the command string is run by the login user's shell. */
export function openExec(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
    } catch (err) {
      reject(err);
    }
  });
}

export interface PtyRequest {
  rows: number;
  cols: number;
  /** TERM for the remote side, e.g. xterm-256color. */
  term: string;
}

/** Starts the login user's shell; with `pty`, on a pseudo-terminal of that size. */
export function openShell(client: Client, pty: PtyRequest | undefined): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      const window = pty ? { rows: pty.rows, cols: pty.cols, height: 0, width: 0, term: pty.term } : false;
      client.shell(window, {}, (err, channel) => (err ? reject(err) : resolve(channel)));
    } catch (err) {
      reject(err);
    }
  });
}
