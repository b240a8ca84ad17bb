// What a Service's status is computed from: the health of what its server runs for the deployed input,
// read from the server's live cache (and, for Swarm services, the manager's tasks), with the readiness
// probes of its replicas tracked by the ReadinessProber. Observing a server follows its events from then
// on, so a container that changes wakes the Service at once.
import type { FrozenInput } from '../../core/deploy/container-spec.js';
import { containerState } from '../../core/deploy/normalise-live.js';
import { publishModeOf, swarmServicePlans, type PublishMode } from '../../core/deploy/swarm-spec.js';
import { frozenInputHealth, swarmTasksHealth, type ServiceHealth, type SwarmServiceTasks } from '../../core/health/index.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { HostFeed } from '../drift/host-feed.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { connectedHost } from '../../hosts/host-access.js';
import { containerAddress } from './readiness-probe.js';
import type { ProbeTarget, ReadinessProber } from './readiness-prober.js';
import { observeSwarmServices } from './swarm-live.js';
import { probeTask, routeTaskProbes, type SwarmTaskProbeDeps } from './swarm-task-probes.js';

/**
 * For a Swarm manager, how its Swarm services publish ports: through the ingress routing mesh,
 * or in mode host when the server check found no IPVS in its kernel. Undefined for other servers.
 */
export async function swarmPublishMode(connector: ServerConnector, serverName: string): Promise<PublishMode | undefined> {
  const server = await connector.findServer(serverName);
  if ((server?.spec as { kind?: string } | undefined)?.kind !== 'docker-swarm-manager') return undefined;
  return publishModeOf((server?.status as { checks?: Array<{ name: string; result: string }> } | undefined)?.checks);
}

export interface ServiceHealthDeps {
  store: ResourceStore;
  connector: ServerConnector;
  /** Container events on the servers observed wake the Services they concern. */
  feed: HostFeed;
  prober: ReadinessProber;
}

export class ServiceHealthObserver {
  constructor(private readonly deps: ServiceHealthDeps) {}

  /** The health of what the host runs for `frozen`; `serviceKey` (namespace/name) keys its probes. */
  async observe(serviceKey: string, frozen: FrozenInput, now: Date): Promise<ServiceHealth> {
    const { connector, prober } = this.deps;
    const server = frozen.target.server;
    const connection = await connector.connectionFor(await connector.server(server));
    this.deps.feed.follow(connection);
    const host = connectedHost(connection);
    const publishMode = await swarmPublishMode(connector, server);
    if (publishMode) {
      await connection.liveState.waitForSync();
      const snapshot = connection.liveState.snapshot();
      const observed = observeSwarmServices(snapshot, swarmServicePlans(frozen, { publishMode }));
      const nodes = [...snapshot.nodes.values()];
      const probing = this.taskProbes(server);
      const targets: ProbeTarget[] = [];
      const services: SwarmServiceTasks[] = [];
      for (const o of observed) {
        const probe = frozen.components.find((c) => c.name === o.plan.component)?.readiness;
        const entry: SwarmServiceTasks = { name: o.plan.name, tasks: o.tasks, desired: o.desired };
        services.push(entry);
        if (!probe) continue;
        // Each running task of the deployed spec, probed from where it runs (a task ID keys its record).
        const running = o.liveTasks.filter((t) => t.taskHash === o.plan.taskHash && t.desiredState === 'running' && t.state === 'running');
        const unprobed = new Map<string, string>();
        for (const target of await routeTaskProbes(probing, o.plan, probe, running, nodes)) {
          const { task, route } = target;
          if (route.via === 'none') {
            unprobed.set(task.id, route.why);
            continue;
          }
          targets.push({ container: task.id, startedAt: task.timestamp, probe, probeWith: { server: route.server, run: (signal) => probeTask(probing, o.plan, probe, target, signal) } });
        }
        entry.probe = { spec: probe, records: prober.recordsFor(running.map((t) => t.id)), unprobed };
      }
      prober.track(serviceKey, host, targets);
      return swarmTasksHealth(services, server);
    }
    const snapshot = await host.snapshot(undefined, { full: false });
    const inspects = new Map(snapshot.containers.map((c) => [(c.Name ?? '').replace(/^\//, ''), c]));
    const components = new Map(frozen.components.map((c) => [c.name, c]));
    const targets: ProbeTarget[] = [];
    for (const container of frozen.containers) {
      const probe = components.get(container.component)?.readiness;
      const inspect = inspects.get(container.name);
      if (!probe || !inspect?.State?.Running) continue;
      targets.push({ container: container.name, startedAt: inspect.State.StartedAt, address: containerAddress(inspect), probe });
    }
    prober.track(serviceKey, host, targets);
    const live = [...inspects].map(([name, c]) => ({ name, state: containerState(c) }));
    const probes = prober.recordsFor(frozen.containers.map((c) => c.name));
    const lastExitCodes = new Map<string, number>();
    for (const [name, c] of inspects) {
      const code = connection.liveState.lastExitCode(c.Id);
      if (code !== undefined) lastExitCodes.set(name, code);
    }
    return frozenInputHealth(frozen, { live, now, server, probes, lastExitCodes });
  }

  /**
   * Where the readiness probes of a manager's tasks run from: the Server declared for each node
   * (status.docker.swarm.nodeID; the manager's own first), over its kept connection.
   */
  taskProbes(manager: string): SwarmTaskProbeDeps {
    const { store, connector } = this.deps;
    return {
      manager,
      serversByNode: async () => {
        const servers = (await store.list('Server')).items;
        const byNode = new Map<string, string>();
        const ordered = [...servers].sort((a, b) => Number(b.metadata.name === manager) - Number(a.metadata.name === manager) || a.metadata.name.localeCompare(b.metadata.name));
        for (const s of ordered) {
          const nodeId = s.status?.docker?.swarm?.nodeID;
          if (nodeId && !s.metadata.deletionTimestamp && !byNode.has(nodeId)) byNode.set(nodeId, s.metadata.name);
        }
        return byNode;
      },
      host: async (name) => {
        const connection = await connector.connectionFor(await connector.server(name));
        const access = connectedHost(connection);
        return {
          server: name,
          async containers(signal) {
            await connection.liveState.waitForSync(signal);
            return connection.liveState.snapshot().containers.values();
          },
          connectFromHost: (address, port, signal) => access.connectFromHost(address, port, signal),
        };
      },
    };
  }
}
