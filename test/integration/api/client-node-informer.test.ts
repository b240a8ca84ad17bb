// @kubernetes/client-node, unchanged, runs an informer (list + watch) on a Holdfast kind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';

function waitFor<T>(events: T[], predicate: (e: T) => boolean, ms = 10_000): Promise<T> {
  return new Promise((ok, fail) => {
    const started = Date.now();
    const tick = () => {
      const hit = events.find(predicate);
      if (hit) return ok(hit);
      if (Date.now() - started > ms) return fail(new Error(`timed out; saw ${JSON.stringify(events).slice(0, 400)}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

describe('@kubernetes/client-node informer against the API', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane('pglite');
    await cp.call('POST', `${G}/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'staging' }] } });
  });
  after(async () => cp.stop());

  it('sees an add, an update and a delete', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'holdfast', server: cp.url, skipTLSVerify: true }],
      users: [{ name: 'admin', token: cp.token }],
      contexts: [{ name: 'holdfast', cluster: 'holdfast', user: 'admin' }],
      currentContext: 'holdfast',
    });
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const path = `${G}/namespaces/shop/services`;
    const list = () =>
      api.listNamespacedCustomObject({ group: 'holdfast.dev', version: 'v1alpha1', namespace: 'shop', plural: 'services' }) as unknown as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
    const informer = k8s.makeInformer(kc, path, list);
    const seen: Array<{ type: string; name?: string; generation?: number }> = [];
    informer.on(k8s.ADD, (o) => seen.push({ type: 'add', name: o.metadata?.name }));
    informer.on(k8s.UPDATE, (o) => seen.push({ type: 'update', name: o.metadata?.name, generation: o.metadata?.generation }));
    informer.on(k8s.DELETE, (o) => seen.push({ type: 'delete', name: o.metadata?.name }));
    const errors: unknown[] = [];
    informer.on(k8s.ERROR, (e) => errors.push(e));
    await informer.start();
    try {
      const svc = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { environment: 'staging', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' } } };
      assert.equal((await cp.call('POST', `${path}`, svc)).status, 201);
      await waitFor(seen, (e) => e.type === 'add' && e.name === 'web');
      await cp.call('PATCH', `${path}/web`, { spec: { replicas: 2 } }, { 'content-type': 'application/merge-patch+json' });
      await waitFor(seen, (e) => e.type === 'update' && e.generation === 2);
      assert.equal(informer.get('web', 'shop')?.metadata?.generation, 2, 'the informer cache holds the new version');
      await cp.call('DELETE', `${path}/web`);
      await waitFor(seen, (e) => e.type === 'delete' && e.name === 'web');
      assert.equal(informer.get('web', 'shop'), undefined);
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });
});
