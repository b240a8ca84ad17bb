// Nothing half-done on the host: what one rollout created is remembered, so that when a step fails
// the containers it created and never started, and the networks it created that nothing joined,
// are removed again (the deployment log says so). A start refused because a host port is taken is
// reported as such, naming the port and, where the Engine knows it, the container holding it.
import { portConflictOf } from '../../core/deploy/port-conflict.js';
import { LABELS, MANAGED_BY } from '../../core/deploy/container-spec.js';
import { isDockerNotFound } from '../../hosts/errors.js';
import type { HostAccess } from '../../hosts/host-access.js';

type Docker = HostAccess['docker'];
const CLEANUP_TIMEOUT_MS = 30_000;

export class CreatedOnHost {
  readonly containers = new Set<string>();
  readonly networks = new Set<string>();

  /** Removes created containers still in state `created` and created networks with no container; logs each. */
  async removeUnstarted(docker: Docker, log: (line: string) => Promise<void>): Promise<void> {
    const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    for (const name of this.containers) {
      try {
        const inspect = await docker.inspectContainer(name, { signal });
        if (inspect.State?.Status !== 'created') continue;
        await docker.removeContainer(name, { force: true }, { signal });
        await log(`removed container ${name}: this deployment created it and it never started`);
      } catch (err) {
        if (!isDockerNotFound(err)) await log(`could not remove container ${name} that this deployment created: ${(err as Error).message}`);
      }
    }
    const attached = new Set((await docker.listContainers({ all: true }, { signal }).catch(() => [])).flatMap((c) => Object.keys(((c.NetworkSettings as { Networks?: Record<string, unknown> } | undefined)?.Networks) ?? {})));
    for (const name of this.networks) {
      if (attached.has(name)) continue;
      try {
        await docker.removeNetwork(name, { signal });
        await log(`removed network ${name}: this deployment created it and no container uses it`);
      } catch (err) {
        if (!isDockerNotFound(err)) await log(`could not remove network ${name} that this deployment created: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * When a start failed because a host port is taken: which port, on which server, held by which
 * container (or by something outside Docker). Undefined for any other failure.
 */
export async function portInUseMessage(docker: Docker, err: unknown, container: string, server: string): Promise<string | undefined> {
  const conflict = portConflictOf((err as Error)?.message ?? '');
  if (!conflict) return undefined;
  const port = `${conflict.port}${conflict.protocol ? `/${conflict.protocol}` : ''}`;
  const holders = await docker
    .listContainers({ filters: { publish: [port] } }, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) })
    .catch(() => []);
  const holder = holders.map((c) => ({ name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), managed: c.Labels?.[LABELS.managedBy] === MANAGED_BY })).find((c) => c.name !== container);
  const by = holder
    ? `container ${holder.name}${holder.managed ? ' (another Holdfast service)' : ', which Holdfast does not manage'}`
    : 'a process on the host outside Docker (Docker knows no container publishing it)';
  return `host port ${port} on ${conflict.hostIp} of server ${server} is already in use by ${by}: choose another hostPort or free the port`;
}
