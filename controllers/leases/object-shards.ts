// Which shard an object's work belongs to: that of the Server it runs on (core/lease/shards.ts). A
// Service names its Server, a BackupPolicy its Service. An object whose Server does not exist (yet,
// or any more) belongs to shard 0, so exactly one replica still reports on it.
import { shardOf } from '../../core/lease/shards.js';
import type { ResourceStore } from '../../store/resource-store.js';

export interface ObjectShards {
  /** The shard of a Server, by name. */
  server(name: string | undefined): Promise<number>;
  /** The shard of a Service, by its `namespace/name` key. */
  service(key: string): Promise<number>;
  /** The shard of a BackupPolicy, by its `namespace/name` key. */
  backupPolicy(key: string): Promise<number>;
}

export function objectShards(store: ResourceStore, count: number): ObjectShards {
  const server = async (name: string | undefined) => {
    const found = name ? await store.get('Server', undefined, name) : undefined;
    return found ? shardOf(found.metadata.uid!, count) : 0;
  };
  const service = async (namespace: string, name: string | undefined) => {
    const found = name ? await store.get('Service', namespace, name) : undefined;
    return server((found?.spec as { server?: string } | undefined)?.server);
  };
  return {
    server,
    service: (key) => {
      const [namespace, name] = key.split('/');
      return service(namespace, name);
    },
    backupPolicy: async (key) => {
      const [namespace, name] = key.split('/');
      const policy = await store.get('BackupPolicy', namespace, name);
      return service(namespace, (policy?.spec as { service?: string } | undefined)?.service);
    },
  };
}
