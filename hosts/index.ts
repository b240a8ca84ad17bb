// The execution plane's entry point: one HostConnection per server (kept SSH session, Docker client
// over it, shell runner, live-state cache), made on first use and reused until the server's
// connection settings change or the registry shuts down.
import { createHash } from 'node:crypto';
import { HoldfastError } from '../core/errors.js';
import type { ServerSpec } from '../core/schema/types.generated.js';
import { DockerClient } from './docker-client.js';
import { LocalDockerTransport, SshDockerTransport } from './docker-transport.js';
import { LocalCommandRunner, SshCommandRunner, type CommandRunner } from './exec.js';
import { LiveStateCache, type LiveStateCacheOptions } from './live-cache.js';
import type { HostObserver } from '../core/observers.js';
import { normaliseFingerprint } from '../core/ssh-fingerprint.js';
import { SshSession, type SessionStateChange, type SshSessionOptions } from './ssh-session.js';

export type { LiveChange, LiveSnapshot, LiveCacheStatus } from './live-cache.js';
export type { SessionStateChange } from './ssh-session.js';
export type { HostObserver, SessionState } from '../core/observers.js';
export type { ExecOptions, ExecResult, CommandRunner } from './exec.js';
export type { CallOptions } from './docker-client.js';
export { DockerClient } from './docker-client.js';
export { LiveStateCache } from './live-cache.js';
export { SshSession } from './ssh-session.js';
export { HostCounters, combineObservers } from './observer.js';
export { quoteArgv, expectSuccess } from './exec.js';
export { dockerRequests, type DockerRequest, type DockerFilters } from './docker-requests.js';
export { LocalDockerTransport, SshDockerTransport, type DockerTransport } from './docker-transport.js';
export type * from './docker-api-types.js';
export * from './errors.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface ServerConnectionConfig {
  /** Name of the Server resource. */
  name: string;
  kind: ServerSpec['kind'];
  /** Required unless kind is `local`. */
  host?: string;
  port?: number;
  user?: string;
  /** Decrypted private key; required unless kind is `local`. Never logged. */
  privateKey?: string | Buffer;
  hostKeyFingerprint?: string;
  /** The daemon's socket on the server (for `local`, on this machine). */
  dockerSocket?: string;
}

export interface HostConnection {
  readonly name: string;
  readonly kind: ServerSpec['kind'];
  /** Undefined for `local` servers. */
  readonly session?: SshSession;
  readonly docker: DockerClient;
  readonly commands: CommandRunner;
  /** The server's live state; started on first access. */
  readonly liveState: LiveStateCache;
}

export interface HostConnectionsOptions {
  observer?: HostObserver;
  /** Called when a server without a pinned key shows its key for the first time; record it as the pin. */
  onHostKeyObserved?: (server: string, fingerprint: string) => void;
  onSessionStateChange?: (change: SessionStateChange) => void;
  session?: Omit<SshSessionOptions, 'observer' | 'onHostKeyObserved'>;
  liveState?: Omit<LiveStateCacheOptions, 'swarm'>;
}

interface Entry {
  identity: string;
  connection: HostConnection;
  close: () => Promise<void>;
}

export class HostConnections {
  readonly #entries = new Map<string, Entry>();
  readonly #options: HostConnectionsOptions;
  #closed = false;

  constructor(options: HostConnectionsOptions = {}) {
    this.#options = options;
  }

  /**
   * The connection for `config`, made if needed. A change of host, port, user, key, socket, kind or
   * pinned host key replaces the old connection (closed in the background); recording the key seen on
   * first contact as the pin does not.
   */
  get(config: ServerConnectionConfig): HostConnection {
    if (this.#closed) throw new HoldfastError('ServiceUnavailable', 'host connections are shut down');
    const identity = connectionIdentity(config);
    const existing = this.#entries.get(config.name);
    if (existing) {
      if (existing.identity === identity || this.#onlyPinnedNow(existing, config)) return existing.connection;
      this.#entries.delete(config.name);
      void existing.close();
    }
    const entry = this.#create(config, identity);
    this.#entries.set(config.name, entry);
    return entry.connection;
  }

  /** The connection if one exists, without making one. */
  peek(name: string): HostConnection | undefined {
    return this.#entries.get(name)?.connection;
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** Closes and forgets one server's connection (the server was deleted). */
  async remove(name: string): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) return;
    this.#entries.delete(name);
    await entry.close();
  }

  /** Closes every connection; for shutdown. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map((entry) => entry.close()));
  }

  #onlyPinnedNow(existing: Entry, config: ServerConnectionConfig): boolean {
    const session = existing.connection.session;
    if (!session || !config.hostKeyFingerprint) return false;
    const pinned = normaliseFingerprint(config.hostKeyFingerprint);
    if (!pinned || pinned !== session.hostKeyFingerprint) return false;
    if (existing.identity !== connectionIdentity({ ...config, hostKeyFingerprint: undefined })) return false;
    existing.identity = connectionIdentity(config);
    return true;
  }

  #create(config: ServerConnectionConfig, identity: string): Entry {
    const observer = this.#options.observer;
    const socket = config.dockerSocket ?? DEFAULT_DOCKER_SOCKET;
    const swarm = config.kind === 'docker-swarm-manager' ? true : config.kind === 'local' ? 'auto' : false;
    let cache: LiveStateCache | undefined;
    const liveState = (docker: DockerClient) => {
      if (!cache) {
        cache = new LiveStateCache(docker, { ...this.#options.liveState, swarm });
        cache.start();
      }
      return cache;
    };

    if (config.kind === 'local') {
      const docker = new DockerClient(new LocalDockerTransport(config.name, socket, { observer }));
      const connection: HostConnection = {
        name: config.name,
        kind: config.kind,
        docker,
        commands: new LocalCommandRunner(config.name, { observer }),
        get liveState() {
          return liveState(docker);
        },
      };
      return {
        identity,
        connection,
        close: async () => {
          await cache?.stop();
          await docker.close();
        },
      };
    }

    const missing = (['host', 'user', 'privateKey'] as const).filter((field) => !config[field]);
    if (missing.length > 0) {
      throw new HoldfastError('Invalid', `server ${config.name}: ${missing.join(', ')} required to connect over SSH`, {
        details: { kind: 'Server', name: config.name },
      });
    }
    const session = new SshSession(
      {
        server: config.name,
        host: config.host!,
        port: config.port ?? 22,
        user: config.user!,
        privateKey: config.privateKey!,
        hostKeyFingerprint: config.hostKeyFingerprint,
      },
      {
        ...this.#options.session,
        observer,
        onHostKeyObserved: (fingerprint) => this.#options.onHostKeyObserved?.(config.name, fingerprint),
      },
    );
    const docker = new DockerClient(new SshDockerTransport(session, socket, { observer }));
    const stopWatching = session.onStateChange((change) => {
      this.#options.onSessionStateChange?.(change);
      // A fresh connection means a gap in events: have the cache list again now, not after its backoff.
      if (change.state === 'connected' && change.previous !== 'idle') cache?.kick();
    });
    const connection: HostConnection = {
      name: config.name,
      kind: config.kind,
      session,
      docker,
      commands: new SshCommandRunner(session, { observer }),
      get liveState() {
        return liveState(docker);
      },
    };
    return {
      identity,
      connection,
      close: async () => {
        stopWatching();
        await cache?.stop();
        await docker.close();
        await session.close();
      },
    };
  }
}

/** What makes two configs the same connection; the key enters only as a hash. */
function connectionIdentity(config: ServerConnectionConfig): string {
  const keyHash = config.privateKey ? createHash('sha256').update(config.privateKey).digest('hex') : '';
  return JSON.stringify([
    config.kind,
    config.host ?? '',
    config.port ?? 22,
    config.user ?? '',
    config.dockerSocket ?? DEFAULT_DOCKER_SOCKET,
    config.hostKeyFingerprint ? normaliseFingerprint(config.hostKeyFingerprint) ?? config.hostKeyFingerprint : '',
    keyHash,
  ]);
}
