// The ApplySet of `holdfast apply --inventory NAME`: what the set's last apply wrote, read before an
// apply and recorded after it, so the next apply with --prune deletes only what the set wrote.
import { HoldfastError } from '../core/errors.js';
import { inventoryKey, sortInventory, type InventoryEntry } from '../core/gitops/inventory.js';
import { API_VERSION, kindInfo, type Resource } from '../core/resource.js';
import { ApiError, type HoldfastClient } from './client.js';
import type { InventorySource } from './inventory-prune.js';

const APPLY_SET = kindInfo('ApplySet')!;
const CONFLICT_ATTEMPTS = 3;

export function applySetSource(name: string, namespace: string | undefined): InventorySource & { kind: 'ApplySet' } {
  if (!namespace) throw new HoldfastError('BadRequest', `--inventory ${name} names an ApplySet, which lives in a project: pass -n PROJECT`);
  return { kind: 'ApplySet', namespace, name };
}

export function readApplySet(client: HoldfastClient, set: InventorySource): Promise<Resource | undefined> {
  return client.getIfExists(APPLY_SET, set.name, set.namespace);
}

/** Writes the set's inventory (creating the set on its first apply). */
export async function recordApplySet(client: HoldfastClient, set: InventorySource, entries: readonly InventoryEntry[], now: Date): Promise<void> {
  const unique = [...new Map(entries.map((e) => [inventoryKey(e), { kind: e.kind, ...(e.namespace ? { namespace: e.namespace } : {}), name: e.name }])).values()];
  const status = { inventory: sortInventory(unique), objectCount: unique.length, lastAppliedTime: now.toISOString() };
  for (let attempt = 1; ; attempt++) {
    try {
      const current =
        (await readApplySet(client, set)) ??
        (await client.create(APPLY_SET, { apiVersion: API_VERSION, kind: 'ApplySet', metadata: { name: set.name, namespace: set.namespace }, spec: {} }));
      await client.replaceStatus(APPLY_SET, { ...current, status: { ...current.status, ...status } });
      return;
    } catch (err) {
      if (!(err instanceof ApiError && err.httpStatus === 409) || attempt >= CONFLICT_ATTEMPTS) throw err;
    }
  }
}
