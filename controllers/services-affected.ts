// Which Services to look at again when an object of another kind changes: a Secret (rotated values
// change the Services of its namespace), a Server (the Services on it), or the Event of a queued
// deployment (the Service it is about). A Server's status is
// rewritten on every readiness check (latency, checkedAt); only a change of its spec, of its Ready
// condition, or its deletion can change what its Services do, so the rest wakes nobody — at a
// thousand Services that is a thousand reconciles a minute saved per controller.
import type { AnyResource, Resource } from '../core/resource.js';
import type { ChangeEvent, ResourceStore } from '../store/resource-store.js';

export type AffectedServicesMapper = (e: ChangeEvent) => Promise<string[]>;

/** A mapper with its own memory of each Server's last relevant state (one per controller). */
export function servicesAffectedBy(store: ResourceStore): AffectedServicesMapper {
  const lastSeen = new Map<string, string>();
  return async (e) => {
    if (e.object.kind === 'Server') {
      const name = e.object.metadata.name;
      if (e.type === 'DELETED') lastSeen.delete(name);
      else {
        const state = relevantServerState(e.object);
        if (lastSeen.get(name) === state) return [];
        lastSeen.set(name, state);
      }
      const { items } = await store.list('Service');
      return items.filter((s) => (s.spec as { server?: string } | undefined)?.server === name).map(serviceKey);
    }
    // A deployment queued by a replica that does not run it (a sync or rollback taken by another
    // replica): the replica holding the Service's shard takes it up.
    if (e.object.kind === 'Event' && e.type !== 'DELETED') {
      const event = e.object as { reason?: string; involvedObject?: { kind?: string; namespace?: string; name?: string } };
      const about = event.involvedObject;
      return event.reason === 'DeploymentQueued' && about?.kind === 'Service' && about.namespace && about.name ? [`${about.namespace}/${about.name}`] : [];
    }
    if (e.object.kind === 'Secret') {
      const { items } = await store.list('Service', { namespace: e.object.metadata.namespace });
      return items.map(serviceKey);
    }
    return [];
  };
}

/** What of a Server its Services depend on: its spec (generation), whether it is ready, and whether it is going away. */
export function relevantServerState(server: Resource): string {
  const ready = server.status?.conditions?.find((c) => c.type === 'Ready');
  return JSON.stringify([server.metadata.generation ?? 0, ready?.status ?? 'Unknown', Boolean(server.metadata.deletionTimestamp)]);
}

const serviceKey = (s: AnyResource) => `${s.metadata.namespace}/${s.metadata.name}`;
