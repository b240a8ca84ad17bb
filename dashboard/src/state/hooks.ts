// Hooks that read the session's resource caches.
import { useSyncExternalStore } from 'react';
import type { Snapshot } from '../api/informer.js';
import type { ConnectionState, Kinds } from './resources.js';
import { useSession } from './session.js';

export function useResources<K extends keyof Kinds>(plural: K): Snapshot<Kinds[K]> {
  const informer = useSession().cache.informer(plural);
  return useSyncExternalStore(informer.subscribe, informer.getSnapshot);
}

export function useConnection(): ConnectionState {
  const { cache } = useSession();
  return useSyncExternalStore(cache.subscribeConnection, cache.getConnection);
}
