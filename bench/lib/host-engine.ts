// Direct access to a test host's Docker engine through its socket on this machine, outside every
// tool being measured: the benchmark uses it to act behind a tool's back (stop a container), to
// see when a container runs again (from the engine's own event stream), and to clean up.
import { DockerClient } from '../../hosts/docker-client.js';
import { LocalDockerTransport } from '../../hosts/docker-transport.js';
import { ignoreDockerNotFound } from '../../hosts/errors.js';
import type { DockerEvent } from '../../hosts/docker-api-types.js';
import type { TestHost } from '../../test/support/testhosts.js';

/** Everything the benchmark creates is named with this prefix or labelled with a project that has it. */
export const BENCH_PREFIX = 'bench-';

export class HostEngine {
  readonly docker: DockerClient;

  constructor(readonly host: TestHost) {
    this.docker = new DockerClient(new LocalDockerTransport(`${host.name}-direct`, host.dockerSocket, { maxConcurrentOperations: 8, operationTimeoutMs: 60_000 }));
  }

  /** Names of the containers (running or not) that carry label=value. */
  async containersLabelled(label: string, value: string, signal?: AbortSignal): Promise<Array<{ id: string; name: string; running: boolean }>> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } }, { signal });
    return list.map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), running: c.State === 'running' }));
  }

  /** Stops a container the way an operator would (`docker stop -t 0`). */
  async stop(name: string, signal?: AbortSignal): Promise<void> {
    await this.docker.stopContainer(name, { timeoutSeconds: 0 }, { signal, timeoutMs: 30_000 });
  }

  /**
   * Resolves with the time (performance.now()) a container of that name next starts, from the
   * engine's event stream. Call before acting; await `opened` so no event is missed.
   */
  watchStart(name: string, timeoutMs: number): { opened: Promise<void>; started: Promise<number>; cancel(): void } {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`container ${name} on ${this.host.name} did not start within ${timeoutMs} ms`)), timeoutMs);
    let markOpen!: () => void;
    const opened = new Promise<void>((ok) => (markOpen = ok));
    const started = new Promise<number>((ok, fail) => {
      abort.signal.addEventListener('abort', () => fail(abort.signal.reason), { once: true });
      const onEvent = (event: DockerEvent) => {
        if (event.Type === 'container' && event.Action === 'start' && event.Actor.Attributes?.name === name) {
          ok(performance.now());
          clearTimeout(timer);
          abort.abort(new Error('done'));
        }
      };
      this.docker
        .streamEvents({ filters: { type: ['container'], event: ['start'] } }, onEvent, { signal: abort.signal, onOpen: markOpen })
        .catch((err) => fail(err));
    });
    started.catch(() => undefined);
    return {
      opened,
      started,
      cancel: () => {
        clearTimeout(timer);
        abort.abort(new Error('canceled'));
      },
    };
  }

  /**
   * Removes every container labelled with `label` = `value` (force: running ones too), then
   * networks and volumes whose name starts with `namePrefix`.
   */
  async removeAll(label: string, value: string, namePrefix: string, signal?: AbortSignal): Promise<number> {
    const containers = await this.containersLabelled(label, value, signal);
    await parallel(containers, 8, (c) => this.docker.removeContainer(c.id, { force: true }, { signal }).catch(ignoreDockerNotFound));
    const networks = (await this.docker.listNetworks({ name: [namePrefix] }, { signal })).filter((n) => n.Name.startsWith(namePrefix));
    for (const n of networks) await this.docker.removeNetwork(n.Id, { signal }).catch(ignoreDockerNotFound);
    const volumes = ((await this.docker.listVolumes({ name: [namePrefix] }, { signal })) ?? []).filter((v) => v.Name.startsWith(namePrefix));
    for (const v of volumes) await this.docker.removeVolume(v.Name, { force: true }, { signal }).catch(ignoreDockerNotFound);
    return containers.length;
  }

  async close(): Promise<void> {
    await this.docker.close();
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function parallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}
