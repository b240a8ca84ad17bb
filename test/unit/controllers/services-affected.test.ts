// Which Services a change of another kind wakes: the Services on a Server when its spec, its
// readiness or its existence changes, not on every status rewrite of a readiness check; every
// Service of a Secret's namespace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { servicesAffectedBy } from '../../../controllers/services-affected.js';
import type { ChangeEvent, ResourceStore } from '../../../store/resource-store.js';

const service = (namespace: string, name: string, server: string): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { namespace, name },
  spec: { server },
});
const SERVICES = [service('shop', 'web', 'edge'), service('shop', 'api', 'edge'), service('blog', 'site', 'other')];
const store = {
  list: async (_kind: string, opts: { namespace?: string } = {}) => ({ items: SERVICES.filter((s) => !opts.namespace || s.metadata.namespace === opts.namespace) }),
} as unknown as ResourceStore;

const server = (generation: number, ready: string | undefined, extra: { latencyMs?: number; deleting?: boolean } = {}): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Server',
  metadata: { name: 'edge', generation, ...(extra.deleting ? { deletionTimestamp: '2026-11-26T12:00:00Z' } : {}) },
  spec: {},
  status: { ...(ready ? { conditions: [{ type: 'Ready', status: ready, reason: 'Checked', message: '', lastTransitionTime: '2026-11-26T12:00:00Z' }] } : {}), latencyMs: extra.latencyMs ?? 1 } as Resource['status'],
});
const event = (object: Resource, type: ChangeEvent['type'] = 'MODIFIED'): ChangeEvent => ({ type, object, resourceVersion: 1 });

describe('servicesAffectedBy', () => {
  it('wakes the Services on a Server only when its spec, readiness or existence changes', async () => {
    const map = servicesAffectedBy(store);
    const steps: Array<[string, ChangeEvent, string[]]> = [
      ['first sight', event(server(1, undefined), 'ADDED'), ['shop/web', 'shop/api']],
      ['a readiness check that changes nothing relevant', event(server(1, undefined, { latencyMs: 3 })), []],
      ['becomes ready', event(server(1, 'True')), ['shop/web', 'shop/api']],
      ['latency rewritten while ready', event(server(1, 'True', { latencyMs: 9 })), []],
      ['not ready any more', event(server(1, 'False')), ['shop/web', 'shop/api']],
      ['spec changed', event(server(2, 'False')), ['shop/web', 'shop/api']],
      ['being deleted', event(server(2, 'False', { deleting: true })), ['shop/web', 'shop/api']],
      ['deleted', event(server(2, 'False', { deleting: true }), 'DELETED'), ['shop/web', 'shop/api']],
    ];
    for (const [what, e, expected] of steps) assert.deepEqual(await map(e), expected, what);
  });

  it('wakes every Service of a Secret\'s namespace, and nothing for other kinds', async () => {
    const map = servicesAffectedBy(store);
    const secret: Resource = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { namespace: 'shop', name: 'db' } };
    assert.deepEqual(await map(event(secret)), ['shop/web', 'shop/api']);
    assert.deepEqual(await map(event(secret)), ['shop/web', 'shop/api'], 'every change of a Secret counts');
    assert.deepEqual(await map(event({ ...secret, kind: 'Project', metadata: { name: 'shop' } })), []);
  });

  it('wakes the Service a queued deployment is about, and nothing for other Events', async () => {
    const map = servicesAffectedBy(store);
    const kubeEvent = (reason: string, kind = 'Service'): Resource => ({ apiVersion: 'v1', kind: 'Event', metadata: { namespace: 'shop', name: `web.${reason}` }, involvedObject: { kind, namespace: 'shop', name: 'web' }, reason });
    assert.deepEqual(await map(event(kubeEvent('DeploymentQueued'), 'ADDED')), ['shop/web']);
    assert.deepEqual(await map(event(kubeEvent('DeploymentQueued'), 'MODIFIED')), ['shop/web'], 'an aggregated Event is another queued deployment');
    assert.deepEqual(await map(event(kubeEvent('DeploymentQueued'), 'DELETED')), []);
    assert.deepEqual(await map(event(kubeEvent('DeploymentCompleted'), 'ADDED')), []);
    assert.deepEqual(await map(event(kubeEvent('DeploymentQueued', 'BackupPolicy'), 'ADDED')), []);
  });
});
