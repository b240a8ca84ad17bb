// A GitRepository's inventory: every object its last applied revision wrote. What the previous
// inventory has and the next revision lacks is what a sync prunes. Pure.
import { applyRank } from '../apply-order.js';

export interface InventoryEntry {
  kind: string;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
  name: string;
  /** The revision that last applied the object. */
  revision?: string;
  /** The digest of the declaration the source last wrote (see source-drift.ts). */
  digest?: string;
}

export const PRUNE_ANNOTATION = 'holdfast.dev/prune';

export function inventoryKey(e: Pick<InventoryEntry, 'kind' | 'namespace' | 'name'>): string {
  return `${e.kind}/${e.namespace ?? ''}/${e.name}`;
}

/** Entries of `previous` that `next` lacks, in delete order (dependents before what they need). */
export function pruneCandidates(previous: readonly InventoryEntry[], next: readonly Pick<InventoryEntry, 'kind' | 'namespace' | 'name'>[]): InventoryEntry[] {
  const kept = new Set(next.map(inventoryKey));
  return previous
    .filter((e) => !kept.has(inventoryKey(e)))
    .map((e, i) => ({ e, i }))
    .sort((a, b) => applyRank(b.e.kind) - applyRank(a.e.kind) || a.i - b.i)
    .map(({ e }) => e);
}

/** The inventory in a stable order (apply order, then namespace and name), so status does not churn. */
export function sortInventory(entries: InventoryEntry[]): InventoryEntry[] {
  return [...entries].sort(
    (a, b) => applyRank(a.kind) - applyRank(b.kind) || (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name),
  );
}

/** Whether an object's annotations keep it from being pruned (`holdfast.dev/prune: disabled`). */
export function pruneDisabled(annotations: Record<string, string> | undefined): boolean {
  return annotations?.[PRUNE_ANNOTATION] === 'disabled';
}
