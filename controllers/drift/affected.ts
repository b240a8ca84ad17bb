// Which Services to look at again when an object of another kind changes: a Secret (rotated values
// change the declared view of the Services of its namespace) or a Server (the Services on it).
import type { ChangeEvent, ResourceStore } from '../../store/resource-store.js';

export async function servicesAffectedBy(store: ResourceStore, e: ChangeEvent): Promise<string[]> {
  if (e.object.kind !== 'Server' && e.object.kind !== 'Secret') return [];
  const { items } = await store.list('Service', e.object.kind === 'Secret' ? { namespace: e.object.metadata.namespace } : {});
  return items
    .filter((s) => e.object.kind === 'Secret' || (s.spec as { server?: string })?.server === e.object.metadata.name)
    .map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
}
