// Sharding as tables: a server's shard is stable and spread, lease names round-trip, and a replica's
// plan keeps its share, hands back the rest and takes free shards up to its share.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isReplicaLease, planShards, replicaLeaseName, shardLeaseName, shardOf, shardOfLease, shardShare, SHARD_COUNT, type ShardPlan, type ShardView } from '../../../core/lease/shards.js';

describe('shardOf', () => {
  it('is the same for the same uid, within range, and spreads uids over every shard', () => {
    const uid = '3f1e6c2a-0d4b-4a57-9a8e-2f4c1b7d9e01';
    assert.equal(shardOf(uid), shardOf(uid));
    const counts = new Array(SHARD_COUNT).fill(0);
    for (let i = 0; i < 1600; i++) counts[shardOf(randomUUID())]++;
    assert.ok(counts.every((n) => n > 40 && n < 180), `uneven spread: ${counts.join(', ')}`);
  });
});

describe('lease names', () => {
  const cases: Array<[string, number | undefined]> = [
    [shardLeaseName(0), 0],
    [shardLeaseName(15), 15],
    ['shard-07', undefined],
    ['shard-', undefined],
    ['holdfast-gitops', undefined],
    ['shard-3x', undefined],
  ];
  for (const [name, shard] of cases) it(`${name} → ${shard}`, () => assert.equal(shardOfLease(name), shard));

  it('names a replica heartbeat as a DNS-1123 label, whatever the identity', () => {
    const name = replicaLeaseName('host.example_3f1e6c2a');
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.equal(isReplicaLease(name), true);
    assert.notEqual(name, replicaLeaseName('host.example_3f1e6c2b'));
    assert.equal(isReplicaLease(shardLeaseName(1)), false);
  });
});

describe('planShards', () => {
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  const cases: Array<{ name: string; view: Omit<ShardView, 'identity' | 'count'>; count?: number; want: (plan: ShardPlan) => void }> = [
    {
      name: 'alone with everything free: takes every shard',
      view: { held: [], free: range(0, 16), liveReplicas: 1 },
      want: (p) => assert.deepEqual([...p.acquire].sort((a, b) => a - b), range(0, 16)),
    },
    {
      name: 'alone and holding all: keeps all',
      view: { held: range(0, 16), free: [], liveReplicas: 1 },
      want: (p) => assert.deepEqual(p, { keep: range(0, 16), release: [], acquire: [] }),
    },
    {
      name: 'a second replica joined: hands back half, the highest first',
      view: { held: range(0, 16), free: [], liveReplicas: 2 },
      want: (p) => assert.deepEqual(p, { keep: range(0, 8), release: range(8, 16), acquire: [] }),
    },
    {
      name: 'joined, nothing free yet: waits',
      view: { held: [], free: [], liveReplicas: 2 },
      want: (p) => assert.deepEqual(p, { keep: [], release: [], acquire: [] }),
    },
    {
      name: 'joined, the others handed back 8: takes them all (its share)',
      view: { held: [], free: range(8, 16), liveReplicas: 2 },
      want: (p) => assert.deepEqual([...p.acquire].sort((a, b) => a - b), range(8, 16)),
    },
    {
      name: 'three replicas: share is ceil(16/3) = 6; holding 4, takes 2 of 5 free',
      view: { held: [0, 1, 2, 3], free: [10, 11, 12, 13, 14], liveReplicas: 3 },
      want: (p) => {
        assert.deepEqual(p.keep, [0, 1, 2, 3]);
        assert.equal(p.acquire.length, 2);
        assert.ok(p.acquire.every((s) => [10, 11, 12, 13, 14].includes(s)));
      },
    },
    {
      name: 'a replica died: its shards expired and the two left take up to 8 each',
      view: { held: [0, 1, 2, 3, 4, 5], free: [12, 13, 14, 15], liveReplicas: 2 },
      want: (p) => assert.equal(p.acquire.length, 2),
    },
  ];
  for (const c of cases) it(c.name, () => c.want(planShards({ ...c.view, count: c.count ?? 16, identity: 'replica-a' })));

  it('replicas start looking at different free shards (fewer lost races)', () => {
    const firsts = new Set(['replica-a', 'replica-b', 'replica-c', 'replica-d'].map((identity) => planShards({ held: [], free: range(0, 16), liveReplicas: 4, count: 16, identity }).acquire[0]));
    assert.ok(firsts.size > 1, 'every replica would start at the same shard');
  });

  it('the shares of the live replicas cover every shard', () => {
    for (let replicas = 1; replicas <= 20; replicas++) assert.ok(shardShare(16, replicas) * replicas >= 16);
    assert.equal(shardShare(16, 0), 16);
  });
});
