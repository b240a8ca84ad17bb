// Leases on both stores: replicas (electors) compete for one Lease with compare-and-swap; the holder
// renews, hands it over on stop, and one that stops renewing is taken over once its duration has
// passed by the taker's clock. Shards are balanced over the replicas as they join and leave.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HoldfastError } from '../../../core/errors.js';
import type { LeaseSpec } from '../../../core/schema/types.generated.js';
import { LeaseElector } from '../../../controllers/leases/lease-elector.js';
import { replicaLeaseName, shardLeaseName, shardOfLease } from '../../../core/lease/shards.js';
import { silentLogger } from '../../../observability/logger.js';
import type { Database } from '../../../store/database.js';
import { ResourceStore } from '../../../store/resource-store.js';
import { DRIVERS } from '../../support/stores.js';
import { until } from '../../support/until.js';

const LEASE = 'holdfast-test';
const SHARDS = 16;

for (const driver of DRIVERS) {
  describe(`leases on ${driver.name}`, () => {
    let database: Database;
    let store: ResourceStore;
    const electors: LeaseElector[] = [];
    const elector = (identity: string) => {
      const e = new LeaseElector({ store, identity, names: [LEASE], durationSeconds: 2, renewIntervalSeconds: 1, log: silentLogger });
      electors.push(e);
      return e;
    };
    const lease = async () => (await store.mustGet('Lease', undefined, LEASE)).spec as LeaseSpec;

    before(async () => {
      database = await driver.open();
      store = new ResourceStore(database.db, { shared: driver.name === 'postgres' });
    });
    after(async () => {
      for (const e of electors) await e.stop();
      await database.close();
    });

    let a: LeaseElector;
    let b: LeaseElector;
    const changes: Array<[string, boolean]> = [];

    it('the first replica creates and holds the lease; the second waits', async () => {
      a = elector('replica-a');
      b = elector('replica-b');
      b.onChange((name, held) => changes.push([name, held]));
      await a.start();
      await b.start();
      assert.equal(a.settled && b.settled, true);
      assert.equal(a.holds(LEASE), true);
      assert.equal(b.holds(LEASE), false);
      const spec = await lease();
      assert.equal(spec.holderIdentity, 'replica-a');
      assert.equal(spec.leaseTransitions, 0);
      assert.equal(spec.leaseDurationSeconds, 2);
      assert.equal(spec.acquireTime, spec.renewTime);
    });

    it('the holder renews it, and the other keeps waiting', async () => {
      const first = (await lease()).renewTime!;
      await until('a renewal', async () => ((await lease()).renewTime! > first ? true : undefined), 10_000, 100);
      const spec = await lease();
      assert.equal(spec.holderIdentity, 'replica-a');
      assert.equal(spec.leaseTransitions, 0);
      assert.equal(b.holds(LEASE), false);
    });

    it('refuses a write from a stale read (compare-and-swap on resourceVersion)', async () => {
      const read = await store.mustGet('Lease', undefined, LEASE);
      await until('a renewal after the read', async () => ((await store.mustGet('Lease', undefined, LEASE)).metadata.resourceVersion !== read.metadata.resourceVersion ? true : undefined), 10_000, 100);
      await assert.rejects(
        store.replace({ ...read, spec: { ...read.spec, holderIdentity: 'intruder' } }, { actor: 'test' }),
        (err: unknown) => err instanceof HoldfastError && err.reason === 'Conflict',
      );
      assert.equal((await lease()).holderIdentity, 'replica-a');
    });

    it('a stopping holder releases the lease and the other takes it over at its next look', async () => {
      await a.stop();
      assert.equal(a.holds(LEASE), false);
      assert.equal((await lease()).holderIdentity, undefined, 'released');
      await until('replica-b holding the lease', async () => (b.holds(LEASE) ? true : undefined), 10_000, 50);
      const spec = await lease();
      assert.equal(spec.holderIdentity, 'replica-b');
      assert.equal(spec.leaseTransitions, 1);
      assert.deepEqual(changes, [[LEASE, true]]);
    });

    it('a holder that stops renewing is taken over only after the lease duration has passed', async () => {
      // What a replica killed right after renewing leaves behind: its name, and no more renewals.
      const current = await store.mustGet('Lease', undefined, LEASE);
      await store.replace({ ...current, spec: { ...current.spec, holderIdentity: 'replica-killed', leaseTransitions: 2 } }, { actor: 'test' });
      const written = performance.now();
      await until('replica-b seeing it lost the lease', async () => (b.holds(LEASE) ? undefined : true), 10_000, 20);
      await until('replica-b taking the lease over', async () => (b.holds(LEASE) ? true : undefined), 15_000, 50);
      const waited = performance.now() - written;
      assert.ok(waited >= 2000, `taken over after ${waited.toFixed(0)} ms, before the 2 s lease duration ran out`);
      const spec = await lease();
      assert.equal(spec.holderIdentity, 'replica-b');
      assert.equal(spec.leaseTransitions, 3);
      assert.deepEqual(changes, [[LEASE, true], [LEASE, false], [LEASE, true]]);
    });
  });
}

for (const driver of DRIVERS) {
  describe(`shards on ${driver.name}`, () => {
    let database: Database;
    let store: ResourceStore;
    const electors = new Map<string, LeaseElector>();
    const start = async (identity: string) => {
      const e = new LeaseElector({ store, identity, names: [], shards: SHARDS, durationSeconds: 2, renewIntervalSeconds: 1, log: silentLogger });
      electors.set(identity, e);
      await e.start();
      return e;
    };
    /** Who holds which shard, as the electors themselves say; fails when two hold one. */
    const holdings = () => {
      const byShard = new Map<number, string>();
      const counts: Record<string, number> = {};
      for (const [identity, e] of electors) {
        counts[identity] = e.heldShards().length;
        for (const shard of e.heldShards()) {
          assert.equal(byShard.get(shard), undefined, `shard ${shard} held by ${byShard.get(shard)} and ${identity} at once`);
          byShard.set(shard, identity);
        }
      }
      return { counts, held: byShard.size };
    };
    const settle = (what: string, want: (h: ReturnType<typeof holdings>) => boolean) =>
      until(what, async () => {
        const h = holdings();
        return want(h) ? h : undefined;
      }, 20_000, 50);

    before(async () => {
      database = await driver.open();
      store = new ResourceStore(database.db, { shared: driver.name === 'postgres' });
    });
    after(async () => {
      for (const e of electors.values()) await e.stop();
      await database.close();
    });

    it('a replica alone takes every shard and says it is live', async () => {
      const a = await start('replica-a');
      assert.deepEqual(a.heldShards(), Array.from({ length: SHARDS }, (_, i) => i));
      const heartbeat = await store.mustGet('Lease', undefined, replicaLeaseName('replica-a'));
      assert.equal((heartbeat.spec as LeaseSpec).holderIdentity, 'replica-a');
    });

    it('a second replica gets half within a few renewals, and no shard is ever held twice', async () => {
      const joined = performance.now();
      await start('replica-b');
      const h = await settle('8 shards each', ({ counts }) => counts['replica-a'] === 8 && counts['replica-b'] === 8);
      assert.equal(h.held, SHARDS);
      // Seen at the holder's next round, handed back, taken at the joiner's next: a lease duration or so.
      assert.ok(performance.now() - joined < 10_000, `balanced only after ${(performance.now() - joined).toFixed(0)} ms`);
      const leases = (await store.list('Lease')).items.filter((l) => shardOfLease(l.metadata.name) !== undefined);
      assert.equal(leases.length, SHARDS);
      for (const l of leases) assert.ok(['replica-a', 'replica-b'].includes((l.spec as LeaseSpec).holderIdentity!), `${l.metadata.name} held by ${(l.spec as LeaseSpec).holderIdentity}`);
    });

    it('with a third, none holds more than ceil(16/3) = 6 and every shard is held', async () => {
      await start('replica-c');
      await settle('three shares of at most 6 covering all', ({ counts, held }) => held === SHARDS && Object.values(counts).every((n) => n <= 6 && n >= 4));
    });

    it('a stopping replica hands its shards back and the other two take them', async () => {
      await electors.get('replica-a')!.stop();
      electors.delete('replica-a');
      await settle('8 shards each on b and c', ({ counts }) => counts['replica-b'] === 8 && counts['replica-c'] === 8);
      const names = (await store.list('Lease')).items.map((l) => l.metadata.name);
      await until('the stopped replica\'s heartbeat removed', async () => (!(await store.get('Lease', undefined, replicaLeaseName('replica-a'))) ? true : undefined), 10_000, 100);
      assert.ok(names.includes(replicaLeaseName('replica-b')));
    });
  });
}

/** The real store, with the lease writes it is asked for counted; `beforeRenewal` runs inside the next batched renewal, before it writes. */
class CountingStore extends ResourceStore {
  singleWrites = 0;
  renewals: string[][] = [];
  beforeRenewal?: () => Promise<void>;

  override create(...args: Parameters<ResourceStore['create']>) {
    this.singleWrites++;
    return super.create(...args);
  }

  override replace(...args: Parameters<ResourceStore['replace']>) {
    this.singleWrites++;
    return super.replace(...args);
  }

  override async replaceSpecsIfCurrent(...args: Parameters<ResourceStore['replaceSpecsIfCurrent']>) {
    const hook = this.beforeRenewal;
    this.beforeRenewal = undefined;
    await hook?.();
    this.renewals.push(args[1].map((l) => l.metadata.name).sort());
    return super.replaceSpecsIfCurrent(...args);
  }
}

for (const driver of DRIVERS) {
  describe(`one write per renewal round on ${driver.name}`, () => {
    let database: Database;
    let store: CountingStore;
    let e: LeaseElector;
    const changes: Array<[string, boolean]> = [];
    const held = [LEASE, replicaLeaseName('replica-a'), ...Array.from({ length: SHARDS }, (_, i) => shardLeaseName(i))].sort();

    before(async () => {
      database = await driver.open();
      store = new CountingStore(database.db, { shared: driver.name === 'postgres' });
      e = new LeaseElector({ store, identity: 'replica-a', names: [LEASE], shards: SHARDS, durationSeconds: 3, renewIntervalSeconds: 1, log: silentLogger });
      e.onChange((name, isHeld) => changes.push([name, isHeld]));
      await e.start();
    });
    after(async () => {
      await e.stop();
      await database.close();
    });

    it('renews every lease it holds in one write a round, each with its change-log row', async () => {
      const created = store.singleWrites;
      assert.equal(created, held.length, 'each lease created once by the first round');
      const from = await store.currentResourceVersion();
      await until('two renewal rounds', async () => (store.renewals.length >= 2 ? true : undefined), 15_000, 50);
      assert.equal(store.singleWrites, created, 'no lease written on its own after the first round');
      assert.deepEqual(store.renewals[0], held);
      const renewed = (await store.changesSince(from, 'Lease'))!;
      assert.ok(renewed.length >= held.length, `${renewed.length} Lease changes logged`);
      assert.deepEqual([...new Set(renewed.map((c) => c.object.metadata.name))].sort(), held);
      for (const c of renewed) assert.equal(c.type, 'MODIFIED');
      for (const l of (await store.list('Lease')).items) {
        assert.equal((l.spec as LeaseSpec).holderIdentity, 'replica-a');
        assert.ok(l.metadata.generation! > 1, `${l.metadata.name}: generation ${l.metadata.generation} moves with each renewal`);
      }
      assert.equal(e.heldShards().length, SHARDS);
    });

    it('does not renew a lease another replica took after the round read it, and lets it go', async () => {
      const taken = shardLeaseName(5);
      const round = store.renewals.length;
      // Another replica takes shard 5 between this round's read and its renewal (this one was paused).
      store.beforeRenewal = async () => {
        const lease = await store.mustGet('Lease', undefined, taken);
        await store.replace({ ...lease, spec: { ...lease.spec, holderIdentity: 'replica-b', leaseTransitions: 1 } }, { actor: 'test' });
      };
      await until('the round with the takeover', async () => (store.renewals.length > round && !e.holds(taken) ? true : undefined), 15_000, 20);
      assert.deepEqual(store.renewals[round], held, 'the round still read shard 5 as its own');
      const lease = (await store.mustGet('Lease', undefined, taken)).spec as LeaseSpec;
      assert.equal(lease.holderIdentity, 'replica-b', 'the takeover was not overwritten');
      assert.equal(lease.leaseTransitions, 1);
      assert.equal(e.fencingToken(taken), undefined);
      assert.deepEqual(changes.filter(([name]) => name === taken), [[taken, true], [taken, false]]);
      for (const name of held.filter((n) => n !== taken)) assert.equal(e.holds(name), true, `${name} still held`);
    });
  });
}
