// Deleting a Service: everything on the host that carries its labels, and nothing else. Volumes
// go only under deletionPolicy Delete.

import type { LiveContainer } from '../deploy/normalise-live.js';
import { ownedBy, removeActions } from './planner.js';
import type { Action, LiveState, ServiceOwner } from './types.js';

export interface DeletionOptions {
  owner: ServiceOwner;
  /** deletionPolicy: Delete. */
  deleteVolumes: boolean;
}

export function planDeletion(live: LiveState, options: DeletionOptions): Action[] {
  const { owner } = options;
  const containers = live.containers
    .filter((c) => ownedBy(c, owner))
    // Dependents usually have the higher replica numbers and later names; any order works, this one is stable.
    .sort((a: LiveContainer, b: LiveContainer) => (a.component === b.component ? b.replicaIndex - a.replicaIndex : a.component < b.component ? -1 : 1));
  const why = `Service ${owner.project}/${owner.service} (${owner.environment}) is being deleted`;
  const actions: Action[] = containers.flatMap((c) => removeActions(c, why));
  for (const network of live.networks) {
    if (ownedBy({ labels: network.labels }, owner)) actions.push({ type: 'remove-network', target: network.name, networkId: network.id, reason: why });
  }
  if (options.deleteVolumes) {
    for (const volume of live.volumes) {
      if (ownedBy({ labels: volume.labels }, owner)) actions.push({ type: 'remove-volume', target: volume.name, reason: `${why} with deletionPolicy Delete` });
    }
  }
  return actions;
}
