// The host port: what controllers ask of one server — its Docker client over the kept session, a
// snapshot of what it runs, a TCP stream to an address as the host sees it (readiness probes), and a
// way to put files on it — and its implementation over a HostConnection: containers come from the
// live-state cache (kept current by Docker events, so a steady-state look costs no call at all),
// images are inspected once per image id (an image id names immutable content), networks and volumes
// are listed on demand.
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DockerImageInspect } from '../core/deploy/docker-types.js';
import type { HostSnapshot } from '../core/plan/live-state.js';
import type { DockerClient } from './docker-client.js';
import { expectSuccess } from './exec.js';
import { isDockerNotFound } from './errors.js';
import type { HostConnection } from './index.js';

export interface HostAccess {
  readonly server: string;
  readonly docker: DockerClient;
  /**
   * A view of the host's containers, images, networks and volumes; the containers named in
   * `fresh` are read from the engine now rather than from the event-fed cache.
   */
  snapshot(signal?: AbortSignal, opts?: { full?: boolean; fresh?: readonly string[] }): Promise<HostSnapshot>;
  /** Opens a TCP connection to `address:port` from the host itself (an SSH direct-tcpip channel). */
  connectFromHost(address: string, port: number, signal?: AbortSignal): Promise<Duplex>;
  /** Writes `content` to `path` on the host (mode 0600, parent directories created). */
  writeFile(path: string, content: Buffer, signal?: AbortSignal): Promise<void>;
}

/**
 * Docker's `name` filter is a regular expression matched against the name with and without its
 * leading slash; a container name's only metacharacter is the dot.
 */
const exactNameFilter = (name: string) => `^/?${name.replace(/\./g, '\\.')}$`;

const imageCache = new WeakMap<HostConnection, Map<string, DockerImageInspect>>();

export interface SnapshotOptions {
  /** Also list networks, volumes and every image (for planning); drift checks need only containers. */
  full?: boolean;
  /**
   * Containers to read fresh from the engine rather than from the cache: the ones a rollout just
   * changed, whose events may not have reached the cache yet.
   */
  fresh?: readonly string[];
}

export function connectedHost(connection: HostConnection): HostAccess & { snapshot(signal?: AbortSignal, opts?: SnapshotOptions): Promise<HostSnapshot> } {
  const docker = connection.docker;
  const images = imageCache.get(connection) ?? new Map<string, DockerImageInspect>();
  imageCache.set(connection, images);

  const inspectImage = async (id: string, signal?: AbortSignal) => {
    const hit = images.get(id);
    if (hit) return hit;
    const inspect = (await docker.inspectImage(id, { signal })) as unknown as DockerImageInspect;
    images.set(id, inspect);
    return inspect;
  };

  return {
    server: connection.name,
    docker,
    async snapshot(signal?: AbortSignal, opts: SnapshotOptions = { full: true }): Promise<HostSnapshot> {
      const cache = connection.liveState;
      await cache.waitForSync(signal);
      let containers = [...cache.snapshot().containers.values()];
      if (opts.fresh?.length) {
        // One list asks which of the names exist now; only those are inspected. A first rollout's
        // names (each replica's and its start-first `.next`) mostly do not exist: no call each.
        const fresh = new Set(opts.fresh);
        const existing = await docker.listContainers({ all: true, filters: { name: [...fresh].map(exactNameFilter) } }, { signal });
        const current = await Promise.all(
          existing.map((summary) =>
            docker.inspectContainer(summary.Id, { signal }).catch((err) => {
              if (isDockerNotFound(err)) return undefined;
              throw err;
            }),
          ),
        );
        const ids = new Set(existing.map((summary) => summary.Id));
        containers = containers.filter((c) => !fresh.has((c.Name ?? '').replace(/^\//, '')) && !ids.has(c.Id));
        for (const inspect of current) if (inspect) containers.push(inspect as unknown as (typeof containers)[number]);
      }
      const used = new Set(containers.map((c) => c.Image).filter((id): id is string => !!id));
      const containerImages = await Promise.all([...used].map((id) => inspectImage(id, signal).catch(() => undefined)));
      if (!opts.full) {
        return { containers, images: containerImages.filter((i): i is DockerImageInspect => !!i), networks: [], volumes: [] };
      }
      const [summaries, networks, volumes] = await Promise.all([
        docker.listImages({}, { signal }),
        docker.listNetworks(undefined, { signal }),
        docker.listVolumes(undefined, { signal }),
      ]);
      const byId = new Map<string, DockerImageInspect>();
      for (const s of summaries) byId.set(s.Id, { Id: s.Id, RepoTags: s.RepoTags ?? [], RepoDigests: s.RepoDigests ?? [] });
      for (const i of containerImages) if (i) byId.set(i.Id, i);
      return {
        containers,
        images: [...byId.values()],
        networks: networks as unknown as HostSnapshot['networks'],
        volumes: (volumes ?? []) as unknown as HostSnapshot['volumes'],
      };
    },
    async connectFromHost(address: string, port: number, signal?: AbortSignal): Promise<Duplex> {
      if (!connection.session) {
        return new Promise((ok, fail) => {
          const socket = netConnect({ host: address, port, signal });
          socket.once('connect', () => ok(socket));
          socket.once('error', fail);
        });
      }
      return connection.session.run(
        'probe',
        (client) =>
          new Promise<Duplex>((ok, fail) => {
            client.forwardOut('127.0.0.1', 0, address, port, (err, channel) => (err ? fail(err) : ok(channel)));
          }),
        { signal, timeoutMs: 10_000 },
      );
    },
    async writeFile(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
      const argv = writeFileArgv(path);
      const result = await connection.commands.run(argv, { stdin: content, signal, timeoutMs: 30_000 });
      expectSuccess(connection.name, argv, result);
    },
  };
}

/** The command that writes its stdin to `path` on the host: mode 0600, parents created, replaced whole. */
export function writeFileArgv(path: string): string[] {
  return ['sh', '-c', 'umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1.tmp" && mv "$1.tmp" "$1"', 'holdfast-write', path];
}
