// The controller manager's routing: two controllers of one kind (the service and drift controllers
// both work on Services) each get the key, and metrics tell them apart by name; with sharded
// servers, a key is reconciled only while this replica holds its shard, and one met while the shard's
// renewal is late waits for it instead of being dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ControllerManager, type Reconciler } from '../../../controllers/manager.js';
import type { LeaseHolder } from '../../../controllers/leases/lease-elector.js';
import { shardLeaseName } from '../../../core/lease/shards.js';
import type { Resource } from '../../../core/resource.js';
import type { ChangeEvent, ResourceStore } from '../../../store/resource-store.js';

function fakeStore(objects: Resource[]) {
  let listener: ((e: ChangeEvent) => void) | undefined;
  const store = {
    list: async (kind: string) => ({ items: objects.filter((o) => o.kind === kind) }),
    subscribe: (fn: (e: ChangeEvent) => void) => {
      listener = fn;
      return () => (listener = undefined);
    },
  } as unknown as ResourceStore;
  return { store, emit: (e: ChangeEvent) => listener?.(e) };
}

function recorder(name: string, kind: string) {
  const keys: string[] = [];
  const reconciler: Reconciler = { name, kind, reconcile: async (key) => void keys.push(key) };
  return { reconciler, keys };
}

async function settle(check: () => boolean) {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((ok) => setTimeout(ok, 5));
  }
}

const service = (name: string, generation = 1): Resource => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { namespace: 'shop', name, generation } });

describe('ControllerManager', () => {
  it('hands a key to every controller of its kind, and reports each by its own name', async () => {
    const { store, emit } = fakeStore([service('web')]);
    const observed: string[] = [];
    const manager = new ControllerManager(store, pino({ level: 'silent' }), {
      onReconcile: (c, _seconds, outcome) => observed.push(`${c.name}/${c.kind}/${outcome}`),
      onQueueDepth: () => undefined,
    });
    const services = recorder('service', 'Service');
    const drift = recorder('drift', 'Service');
    manager.register(services.reconciler, { workers: 1 });
    manager.register(drift.reconciler, { workers: 1 });
    await manager.start();
    try {
      await settle(() => services.keys.length === 1 && drift.keys.length === 1);
      assert.deepEqual([services.keys, drift.keys], [['shop/web'], ['shop/web']], 'the initial resync reaches both');

      manager.enqueue('Service', 'shop/api');
      await settle(() => services.keys.length === 2 && drift.keys.length === 2);
      assert.deepEqual([services.keys[1], drift.keys[1]], ['shop/api', 'shop/api'], 'enqueue by kind reaches both');

      emit({ type: 'MODIFIED', object: service('web', 2), resourceVersion: 2 });
      await settle(() => services.keys.length === 3 && drift.keys.length === 3);
      emit({ type: 'MODIFIED', object: { ...service('web', 2), status: { observedGeneration: 2 } }, resourceVersion: 3 });
      await new Promise((ok) => setTimeout(ok, 50));
      assert.equal(services.keys.length, 3, 'a status-only write wakes nobody');
      assert.ok(observed.includes('service/Service/success') && observed.includes('drift/Service/success'), observed.join(', '));
    } finally {
      await manager.stop();
    }
  });

  it('with sharded servers, reconciles a key only while it holds its shard, and aborts the work of a shard it loses', async () => {
    const { store } = fakeStore([service('web'), service('api')]);
    const held = new Set([shardLeaseName(0)]);
    const listeners = new Set<(name: string, held: boolean) => void>();
    const leases: LeaseHolder = {
      shardCount: 2,
      holds: (name) => held.has(name),
      renewalLate: () => false,
      fencingToken: (name) => (held.has(name) ? { lease: name, holder: 'me', transitions: 0 } : undefined),
      onChange: (l) => (listeners.add(l), () => listeners.delete(l)),
    };
    const change = (name: string, now: boolean) => {
      if (now) held.add(name);
      else held.delete(name);
      for (const l of listeners) l(name, now);
    };
    const manager = new ControllerManager(store, pino({ level: 'silent' }), undefined, leases);
    const keys: string[] = [];
    const aborted: string[] = [];
    manager.register(
      {
        name: 'service',
        kind: 'Service',
        reconcile: async (key, signal) => {
          keys.push(key);
          if (key !== 'shop/api') return;
          // Works until told to stop.
          await new Promise<void>((ok) => signal.addEventListener('abort', () => ok(), { once: true }));
          aborted.push(`${key}: ${(signal.reason as Error).message}`);
        },
      },
      { workers: 2, shardOf: async (key) => (key === 'shop/api' ? 1 : 0) },
    );
    await manager.start();
    try {
      await settle(() => keys.length === 1);
      await new Promise((ok) => setTimeout(ok, 50));
      assert.deepEqual(keys, ['shop/web'], 'shard 1 is not held: its key is left');
      change(shardLeaseName(1), true);
      await settle(() => keys.includes('shop/api'));
      change(shardLeaseName(1), false);
      await settle(() => aborted.length === 1);
      assert.deepEqual(aborted, ['shop/api: lease shard-1 lost']);
    } finally {
      await manager.stop();
    }
  });
  it('keeps a key met while its shard lease renewal is late, and reconciles it once the lease is renewed', async () => {
    const { store, emit } = fakeStore([]);
    let late = false;
    const leases: LeaseHolder = {
      shardCount: 1,
      holds: () => !late,
      renewalLate: () => late,
      fencingToken: () => (late ? undefined : { lease: shardLeaseName(0), holder: 'me', transitions: 0 }),
      onChange: () => () => undefined,
    };
    const manager = new ControllerManager(store, pino({ level: 'silent' }), undefined, leases);
    const services = recorder('service', 'Service');
    manager.register(services.reconciler, { workers: 1, shardOf: async () => 0 });
    await manager.start();
    try {
      late = true;
      emit({ type: 'ADDED', object: service('web'), resourceVersion: 1 });
      await new Promise((ok) => setTimeout(ok, 100));
      assert.deepEqual(services.keys, [], 'not reconciled while the renewal is late');
      // Renewed: no lease change is announced (it was never given up), yet the key comes back.
      late = false;
      await settle(() => services.keys.length === 1);
      assert.deepEqual(services.keys, ['shop/web']);
    } finally {
      await manager.stop();
    }
  });

  it('spreads a periodic resync over half its interval, where the first one enqueues every key at once', async () => {
    const names = ['a', 'b', 'c', 'd'];
    const { store } = fakeStore(names.map((n) => service(n)));
    const seen: Array<{ key: string; at: number }> = [];
    const reconciler: Reconciler = { name: 'drift', kind: 'Service', reconcile: async (key) => void seen.push({ key, at: Date.now() }) };
    const manager = new ControllerManager(store, pino({ level: 'silent' }));
    // 400 ms: the periodic resync spreads its four keys over 200 ms, one every 50 ms.
    manager.register(reconciler, { workers: 4, resyncMs: 400 });
    await manager.start();
    try {
      await settle(() => seen.length >= 8);
      const [first, periodic] = [seen.slice(0, 4), seen.slice(4, 8)];
      const span = (round: typeof seen) => round.at(-1)!.at - round[0].at;
      assert.deepEqual(first.map((s) => s.key).sort(), names.map((n) => `shop/${n}`), 'the first resync reaches every key');
      assert.ok(span(first) < 50, `the first resync enqueued every key at once (spread over ${span(first)} ms)`);
      assert.deepEqual(periodic.map((s) => s.key), names.map((n) => `shop/${n}`), 'the periodic resync reaches every key, in the list order');
      assert.ok(span(periodic) >= 140, `the periodic resync spread its keys (over ${span(periodic)} ms, 150 expected)`);
    } finally {
      await manager.stop();
    }
  });
});
