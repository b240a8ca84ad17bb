// Turns the change feeds of the servers' live-state caches into Service keys: a container, Swarm
// service or Swarm task that carries a Service's labels was added, changed or removed, so that Service's drift is looked at
// again now (the cache re-reads a container on every Docker event, so this is event-driven, not
// polled). Changes that cannot move drift — the healthcheck's log growing — are passed over. A
// container with our managed-by label and a Service's name but not a replica's other labels claims
// every Service of that name (in its project, when it names one): those are looked at too. A Swarm
// node whose labels, role or name changed makes the Services of the tasks on it looked at again: a
// task may now stand on a node its constraints exclude.
import { LABELS, MANAGED_BY, ownerOf } from '../../core/deploy/container-spec.js';
import type { DockerContainerInspect } from '../../core/deploy/docker-types.js';
import type { HostConnection, LiveChange, LiveStateCache, SwarmNode, SwarmService, SwarmTask } from '../../hosts/index.js';

interface Subscription {
  cache: LiveStateCache;
  unsubscribe: () => void;
}

/** What of a container the drift engine reads: everything but the healthcheck's running log. */
function driftRelevant(container: DockerContainerInspect | undefined): string {
  if (!container) return '';
  const state = container.State ? { ...container.State } : undefined;
  if (state?.Health) state.Health = { Status: state.Health.Status };
  return JSON.stringify({ ...container, State: state });
}

/** The `namespace/name` key of the Service a container belongs to, from its labels. */
export function serviceKeyOf(container: Pick<DockerContainerInspect, 'Config'> | undefined): string | undefined {
  const owner = ownerOf(container?.Config?.Labels ?? undefined);
  return owner ? `${owner.project}/${owner.service}` : undefined;
}

/** A container that claims a Service by name without the labels of its replicas: which name, and the project if it says. */
export function partialClaimOf(container: Pick<DockerContainerInspect, 'Config'> | undefined): { service: string; project?: string } | undefined {
  const labels = container?.Config?.Labels ?? undefined;
  if (!labels || labels[LABELS.managedBy] !== MANAGED_BY || !labels[LABELS.service] || ownerOf(labels)) return undefined;
  return { service: labels[LABELS.service], ...(labels[LABELS.project] ? { project: labels[LABELS.project] } : {}) };
}

/** The labels a Swarm task's containers carry (its container spec's). */
function swarmTaskLabels(task: SwarmTask | undefined): Record<string, string> | undefined {
  const spec = task?.Spec as { ContainerSpec?: { Labels?: Record<string, string> | null } } | undefined;
  return spec?.ContainerSpec?.Labels ?? undefined;
}

/** What of a node placement constraints can name (node.role, node.hostname, node.labels, node.platform, engine.labels). */
function placementFacts(node: SwarmNode | undefined): string {
  if (!node) return '';
  const description = node.Description as { Hostname?: string; Platform?: unknown; Engine?: { Labels?: unknown } } | undefined;
  return JSON.stringify([node.Spec?.Role, node.Spec?.Labels ?? {}, description?.Hostname, description?.Platform, description?.Engine?.Labels ?? {}]);
}

export class HostFeed {
  private readonly subscriptions = new Map<string, Subscription>();

  /** `servicesNamed`: the keys of the Services of a name, in every namespace (for partial claims). */
  constructor(
    private readonly enqueue: (serviceKey: string) => void,
    private readonly servicesNamed?: (name: string) => Promise<string[]>,
  ) {}

  /** Follows a server's live-state cache; a no-op when it already follows this one. */
  follow(connection: HostConnection): void {
    const cache = connection.liveState;
    const current = this.subscriptions.get(connection.name);
    if (current?.cache === cache) return;
    current?.unsubscribe();
    const unsubscribe = cache.subscribe((change) => this.onChange(change, cache));
    this.subscriptions.set(connection.name, { cache, unsubscribe });
  }

  private onChange(change: LiveChange, cache: Pick<LiveStateCache, 'snapshot'>): void {
    if (change.kind === 'node') {
      if (change.type === 'updated' && placementFacts(change.previous) === placementFacts(change.object)) return;
      const keys = new Set<string>();
      for (const task of cache.snapshot().tasks.values()) {
        const key = task.NodeID === change.id ? serviceKeyOf({ Config: { Labels: swarmTaskLabels(task) ?? null } }) : undefined;
        if (key) keys.add(key);
      }
      for (const key of keys) this.enqueue(key);
      return;
    }
    if (change.kind === 'service' || change.kind === 'task') {
      // A Swarm service and its tasks carry the Service's labels (tasks on their container spec);
      // tasks on other nodes make no container event here, so these are how their changes arrive.
      const labelsOf = (object: typeof change.object | undefined) =>
        change.kind === 'service' ? (object as SwarmService | undefined)?.Spec?.Labels : swarmTaskLabels(object as SwarmTask | undefined);
      const keys = new Set([labelsOf(change.object), labelsOf(change.previous)].map((labels) => serviceKeyOf({ Config: { Labels: labels ?? null } })));
      for (const key of keys) if (key) this.enqueue(key);
      return;
    }
    if (change.kind !== 'container') return;
    if (change.type === 'updated' && driftRelevant(change.previous) === driftRelevant(change.object)) return;
    const keys = new Set([serviceKeyOf(change.object), serviceKeyOf(change.previous)]);
    for (const key of keys) if (key) this.enqueue(key);
    const claim = partialClaimOf(change.object) ?? partialClaimOf(change.previous);
    if (claim && this.servicesNamed) {
      void this.servicesNamed(claim.service)
        .then((found) => {
          for (const key of found) if (!claim.project || key.startsWith(`${claim.project}/`)) this.enqueue(key);
        })
        // The periodic resync looks at every Service anyway.
        .catch(() => undefined);
    }
  }

  close(): void {
    for (const s of this.subscriptions.values()) s.unsubscribe();
    this.subscriptions.clear();
  }
}
