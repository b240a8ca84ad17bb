// The controller manager's routing: two controllers of one kind (the service and drift controllers
// both work on Services) each get the key, and metrics tell them apart by name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ControllerManager, type Reconciler } from '../../../controllers/manager.js';
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
});
