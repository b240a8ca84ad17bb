// Records Kubernetes-shaped Events about objects. Repeats of the same reason and message on the same
// object fold into one Event with a count, as Kubernetes' event correlator does.
import { createHash } from 'node:crypto';
import { API_VERSION, kindInfo, type Resource } from '../core/resource.js';
import type { ResourceStore } from '../store/resource-store.js';

export type EventType = 'Normal' | 'Warning';

/** Events about cluster-scoped objects (Servers, SSHKeys, Projects) live in this namespace. */
export const CLUSTER_EVENTS_NAMESPACE = 'default';

export interface EventRecorder {
  record(about: Pick<Resource, 'kind' | 'metadata'>, type: EventType, reason: string, message: string): Promise<void>;
}

export class StoreEventRecorder implements EventRecorder {
  constructor(
    private readonly store: ResourceStore,
    private readonly component: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async record(about: Pick<Resource, 'kind' | 'metadata'>, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = kindInfo(about.kind)?.namespaced ? about.metadata.namespace! : CLUSTER_EVENTS_NAMESPACE;
    const digest = createHash('sha256').update([about.kind, about.metadata.name, type, reason, message].join('\0')).digest('hex').slice(0, 10);
    const name = `${about.metadata.name}.${digest}`;
    const now = this.clock().toISOString();
    const ctx = { actor: `system:${this.component}`, skipAudit: true };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.writeOnce(namespace, name, about, type, reason, message, now, ctx);
        return;
      } catch (err) {
        // Two recorders raced on the same event: the next attempt finds it and bumps the count.
        if ((err as { reason?: string }).reason !== 'AlreadyExists' && (err as { reason?: string }).reason !== 'Conflict') throw err;
      }
    }
  }

  private async writeOnce(
    namespace: string,
    name: string,
    about: Pick<Resource, 'kind' | 'metadata'>,
    type: EventType,
    reason: string,
    message: string,
    now: string,
    ctx: { actor: string; skipAudit: boolean },
  ) {
    const existing = await this.store.get('Event', namespace, name);
    if (existing) {
      await this.store.replace({ ...existing, count: Number(existing.count ?? 1) + 1, lastTimestamp: now }, ctx);
      return;
    }
    await this.store.create(
      {
        apiVersion: API_VERSION,
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: about.kind,
          name: about.metadata.name,
          ...(about.metadata.namespace ? { namespace: about.metadata.namespace } : {}),
          ...(about.metadata.uid ? { uid: about.metadata.uid } : {}),
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
      },
      ctx,
    );
  }
}
