// What an inventory (a GitRepository's or an ApplySet's) would prune for a set of manifests: the
// objects it lists and the manifests lack that still exist, are not annotated
// holdfast.dev/prune: disabled and are not in another source's inventory, in delete order.
import { inventoryKey, pruneCandidates, pruneDisabled, type InventoryEntry } from '../core/gitops/inventory.js';
import { kindInfo, type KindInfo, type Resource } from '../core/resource.js';
import { ApiError, type HoldfastClient } from './client.js';
import type { ManifestObject } from '../manifests/load.js';

export interface PruneTarget {
  kind: KindInfo;
  live: Resource;
}

/** The inventory entry of each manifest. */
export function manifestEntries(manifests: readonly ManifestObject[]): InventoryEntry[] {
  return manifests.map(({ kind, object }) => ({ kind: kind.kind, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}), name: object.metadata.name }));
}

/** A GitRepository or an ApplySet: the object whose status.inventory says what it applied. */
export interface InventorySource {
  kind: 'GitRepository' | 'ApplySet';
  namespace: string;
  name: string;
}

export function inventoryOf(source: Resource | undefined): InventoryEntry[] {
  return ((source?.status as { inventory?: InventoryEntry[] } | undefined)?.inventory ?? []) as InventoryEntry[];
}

export async function pruneTargets(client: HoldfastClient, source: InventorySource, inventory: readonly InventoryEntry[], manifests: readonly ManifestObject[]): Promise<PruneTarget[]> {
  const candidates = pruneCandidates(inventory, manifestEntries(manifests));
  if (!candidates.length) return [];
  const claimed = await claimedByOthers(client, source);
  const targets: PruneTarget[] = [];
  for (const entry of candidates) {
    const kind = kindInfo(entry.kind);
    if (!kind || claimed.has(inventoryKey(entry))) continue;
    const live = await client.getIfExists(kind, entry.name, entry.namespace);
    if (!live || live.metadata.deletionTimestamp || pruneDisabled(live.metadata.annotations)) continue;
    targets.push({ kind, live });
  }
  return targets;
}

/**
 * What the inventories of every other GitRepository and ApplySet list: an object another source
 * applied since is theirs now. Cluster-wide when the caller may list it, else the source's project.
 */
async function claimedByOthers(client: HoldfastClient, source: InventorySource): Promise<Set<string>> {
  const claimed = new Set<string>();
  for (const kindName of ['GitRepository', 'ApplySet'] as const) {
    const kind = kindInfo(kindName)!;
    const items = await client.listAll(kind).then(
      (list) => list.items,
      async (err: unknown) => {
        if (!(err instanceof ApiError && err.httpStatus === 403)) throw err;
        return (await client.listAll(kind, { namespace: source.namespace })).items;
      },
    );
    for (const other of items) {
      if (other.kind === source.kind && other.metadata.namespace === source.namespace && other.metadata.name === source.name) continue;
      for (const entry of inventoryOf(other)) claimed.add(inventoryKey(entry));
    }
  }
  return claimed;
}
