// Turns the change feeds of the servers' live-state caches into Service keys: a container that
// carries a Service's labels was added, changed or removed, so that Service's drift is looked at
// again now (the cache re-reads a container on every Docker event, so this is event-driven, not
// polled). Changes that cannot move drift — the healthcheck's log growing — are passed over.
import { ownerOf } from '../../core/deploy/container-spec.js';
import type { DockerContainerInspect } from '../../core/deploy/docker-types.js';
import type { HostConnection, LiveChange, LiveStateCache } from '../../hosts/index.js';

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

export class HostFeed {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(private readonly enqueue: (serviceKey: string) => void) {}

  /** Follows a server's live-state cache; a no-op when it already follows this one. */
  follow(connection: HostConnection): void {
    const cache = connection.liveState;
    const current = this.subscriptions.get(connection.name);
    if (current?.cache === cache) return;
    current?.unsubscribe();
    const unsubscribe = cache.subscribe((change) => this.onChange(change));
    this.subscriptions.set(connection.name, { cache, unsubscribe });
  }

  private onChange(change: LiveChange): void {
    if (change.kind !== 'container') return;
    if (change.type === 'updated' && driftRelevant(change.previous) === driftRelevant(change.object)) return;
    const keys = new Set([serviceKeyOf(change.object), serviceKeyOf(change.previous)]);
    for (const key of keys) if (key) this.enqueue(key);
  }

  close(): void {
    for (const s of this.subscriptions.values()) s.unsubscribe();
    this.subscriptions.clear();
  }
}
