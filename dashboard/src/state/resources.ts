// One informer per kind, shared by every page, and whether they are all live.
import type { ApiClient } from '../api/client.js';
import { Informer, type SyncState } from '../api/informer.js';
import type { KubeEvent, Project, Server, Service } from '../api/types.js';

export interface Kinds {
  services: Service;
  servers: Server;
  projects: Project;
  events: KubeEvent;
}

export type ConnectionState = 'live' | 'connecting' | 'reconnecting' | 'idle';

export class ResourceCache {
  private readonly informers = new Map<keyof Kinds, Informer<Kinds[keyof Kinds]>>();
  private readonly connectionListeners = new Set<() => void>();
  private connection: ConnectionState = 'idle';

  constructor(private readonly client: ApiClient) {}

  informer<K extends keyof Kinds>(plural: K): Informer<Kinds[K]> {
    let informer = this.informers.get(plural);
    if (!informer) {
      informer = new Informer<Kinds[keyof Kinds]>(this.client, plural, () => this.recomputeConnection());
      this.informers.set(plural, informer);
    }
    return informer as unknown as Informer<Kinds[K]>;
  }

  stopAll() {
    for (const informer of this.informers.values()) informer.stop();
  }

  readonly subscribeConnection = (listener: () => void) => {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  };

  readonly getConnection = () => this.connection;

  private recomputeConnection() {
    const states = [...this.informers.values()].map((i) => i.state).filter((s): s is SyncState => s !== undefined);
    const next: ConnectionState =
      states.length === 0 ? 'idle'
      : states.some((s) => s === 'reconnecting' || s === 'error') ? 'reconnecting'
      : states.some((s) => s === 'loading' || s === 'syncing') ? 'connecting'
      : 'live';
    if (next === this.connection) return;
    this.connection = next;
    for (const listener of this.connectionListeners) listener();
  }
}
