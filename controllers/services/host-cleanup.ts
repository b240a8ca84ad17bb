// What deleting a Service removes from its server: exactly what Holdfast made for it, found by its
// ownership labels. On a Swarm manager its Swarm services first (Swarm removes their tasks), then,
// once their tasks are gone, their configs and secrets; then containers (all stopped at once, then
// removed) and networks, and volumes when the Service's deletionPolicy is Delete. The plans are
// core/plan's; this walks them.
import { setTimeout as sleep } from 'node:timers/promises';
import { buildLiveState } from '../../core/plan/live-state.js';
import { planDeletion } from '../../core/plan/index.js';
import { liveSwarmFile, liveSwarmService, planSwarmDeletion, SWARM_TASK_LABEL, type LiveSwarmFile } from '../../core/plan/swarm.js';
import { ignoreDockerNotFound } from '../../hosts/errors.js';
import type { HostAccess } from '../../hosts/host-access.js';

export interface CleanupOwner {
  project: string;
  environment: string;
  service: string;
}

export interface CleanupResult {
  swarmServices: number;
  containers: number;
}

export async function removeServiceFromHost(host: HostAccess, owner: CleanupOwner, opts: { swarm: boolean; deleteVolumes: boolean }, signal: AbortSignal): Promise<CleanupResult> {
  const { docker } = host;
  let swarmServices = 0;
  if (opts.swarm) {
    const label = { label: [`holdfast.dev/service=${owner.service}`] };
    const services = (await docker.listServices(label, { signal })).map((s) => liveSwarmService(s));
    const files: LiveSwarmFile[] = [];
    for (const kind of ['config', 'secret'] as const) {
      files.push(...(await docker.listSwarmFiles(kind, label, { signal })).map((f) => liveSwarmFile(kind, f)));
    }
    const actions = planSwarmDeletion(services, owner, files);
    const removed = new Set<string>();
    for (const action of actions) {
      if (action.type !== 'remove-service') continue;
      await docker.removeService(action.serviceId, { signal }).catch(ignoreDockerNotFound);
      removed.add(action.serviceId);
    }
    swarmServices = removed.size;
    // A stack's networks, configs and secrets can be removed once no task uses them any more.
    if (removed.size > 0) await untilTasksGone(host, removed, signal);
    for (const action of actions) {
      if (action.type === 'remove-swarm-file') await docker.removeSwarmFile(action.kind, action.objectId, { signal }).catch(ignoreDockerNotFound);
    }
  }
  const live = buildLiveState(await host.snapshot(signal), undefined, {});
  if (opts.swarm) live.containers = live.containers.filter((c) => c.labels[SWARM_TASK_LABEL] === undefined);
  const actions = planDeletion(live, { owner, deleteVolumes: opts.deleteVolumes });
  // Every container is asked to stop at once, each with its own grace period: one after the other, a
  // Service whose processes ignore SIGTERM took a whole grace period per container to delete.
  const stops = await Promise.allSettled(
    actions.flatMap((action) => (action.type === 'stop' ? [docker.stopContainer(action.containerId ?? action.target, { timeoutSeconds: action.timeoutSeconds }, { signal }).catch(ignoreDockerNotFound)] : [])),
  );
  const failedStop = stops.find((s) => s.status === 'rejected');
  if (failedStop) throw failedStop.reason;
  for (const action of actions) {
    if (action.type === 'remove') await docker.removeContainer(action.containerId ?? action.target, { force: true }, { signal }).catch(ignoreDockerNotFound);
    else if (action.type === 'remove-network') await docker.removeNetwork(action.networkId, { signal }).catch(ignoreDockerNotFound);
    else if (action.type === 'remove-volume') await docker.removeVolume(action.target, {}, { signal }).catch(ignoreDockerNotFound);
  }
  return { swarmServices, containers: actions.filter((a) => a.type === 'remove').length };
}

/** How long a deletion waits for Swarm to take the tasks of removed services away. */
const TASKS_GONE_WAIT_MS = 60_000;

/**
 * Waits (at most a minute; a network still in use then fails the deletion, which is retried) until
 * the manager lists no task of the removed services, so the networks they were on can go.
 */
async function untilTasksGone(host: HostAccess, serviceIds: ReadonlySet<string>, signal: AbortSignal) {
  const until = Date.now() + TASKS_GONE_WAIT_MS;
  while (Date.now() < until) {
    const tasks = await host.docker.listTasks(undefined, { signal });
    if (!tasks.some((t) => serviceIds.has(t.ServiceID ?? ''))) return;
    await sleep(500, undefined, { signal });
  }
}
