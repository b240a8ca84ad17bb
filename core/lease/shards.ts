// Sharding of servers over the replicas that share one PostgreSQL, pure.
//
// A Server belongs to one of SHARD_COUNT shards for life: the hash of its uid, modulo the count (the
// count never changes, so a server never moves between shards; shards move between replicas). Each
// shard is a Lease (`shard-N`) held by one replica; only that replica keeps SSH sessions to the
// shard's servers and reconciles what runs on them. Every replica that reconciles renews a heartbeat
// Lease of its own, so each knows how many replicas are live; it holds at most ceil(shards / live)
// shards, hands back the extras and takes free or expired shards up to that share. A replica that
// joins therefore gets its share within a lease duration or so, and one that dies loses its shards to
// the others once their leases expire.
import { createHash } from 'node:crypto';

export const SHARD_COUNT = 16;

const SHARD_LEASE_PREFIX = 'shard-';
const REPLICA_LEASE_PREFIX = 'holdfast-replica-';

/** The shard of a Server, from its uid. */
export function shardOf(serverUid: string, count = SHARD_COUNT): number {
  return createHash('sha256').update(serverUid).digest().readUInt32BE(0) % count;
}

export function shardLeaseName(shard: number): string {
  return `${SHARD_LEASE_PREFIX}${shard}`;
}

/** The shard a lease name stands for, or undefined when it is not a shard lease. */
export function shardOfLease(name: string): number | undefined {
  const m = /^shard-(0|[1-9]\d*)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The heartbeat Lease of a replica (a DNS-1123 name whatever the replica's identity looks like). */
export function replicaLeaseName(identity: string): string {
  return `${REPLICA_LEASE_PREFIX}${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;
}

export function isReplicaLease(name: string): boolean {
  return name.startsWith(REPLICA_LEASE_PREFIX);
}

export interface ShardView {
  /** Shards this replica holds now. */
  held: readonly number[];
  /** Shards nobody holds, or whose holder let them expire. */
  free: readonly number[];
  /** Replicas with a live heartbeat, this one included (at least 1). */
  liveReplicas: number;
  count: number;
  /** This replica's identity: where it starts looking among free shards, so replicas rarely race for the same one. */
  identity: string;
}

export interface ShardPlan {
  /** Held and kept: renew them. */
  keep: number[];
  /** Held beyond this replica's share: hand them back. */
  release: number[];
  /** Free and within this replica's share: try to take them. */
  acquire: number[];
}

/** This replica's fair share of the shards. */
export function shardShare(count: number, liveReplicas: number): number {
  return Math.ceil(count / Math.max(1, liveReplicas));
}

export function planShards(view: ShardView): ShardPlan {
  const share = shardShare(view.count, view.liveReplicas);
  const held = [...view.held].sort((a, b) => a - b);
  const keep = held.slice(0, share);
  const release = held.slice(share);
  const start = createHash('sha256').update(view.identity).digest().readUInt32BE(0) % view.count;
  const free = [...view.free].sort((a, b) => ((a - start + view.count) % view.count) - ((b - start + view.count) % view.count));
  return { keep, release, acquire: free.slice(0, Math.max(0, share - keep.length)) };
}
