import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const project = (name: string) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { environments: [{ name: 'production' }] } });
const server = (name: string) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name }, spec: { kind: 'docker-engine', host: '127.0.0.1', user: 'deploy', sshKeyRef: { name: 'k' } } });
const service = (ns: string, name: string, on = 'edge-1') => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { environment: 'production', server: on, source: { image: 'nginx:1' } },
});
const secret = (ns: string, name: string) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name, namespace: ns }, spec: { stringData: { k: 'v' } } });

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`guarded deletes on ${driver}`, () => {
    let cp: TestControlPlane;
    const created = async (path: string, body: unknown) => assert.equal((await cp.call('POST', `${G}/${path}`, body)).status, 201);
    before(async () => {
      // The API alone: deletes without finalizers are immediate, so what a refusal kept is plain to see.
      cp = await startTestControlPlane(driver, { parts: { startControllers: false } });
      await created('servers', server('edge-1'));
      await created('servers', server('edge-2'));
    });
    after(async () => cp.stop());

    it('refuses a Project that holds objects the request does not name, listing them; naming them lets it go', async () => {
      await created('projects', project('shop'));
      await created('namespaces/shop/services', service('shop', 'web'));
      await created('namespaces/shop/services', service('shop', 'worker'));
      await created('namespaces/shop/secrets', secret('shop', 'db'));
      for (const query of ['', '?dryRun=All']) {
        const refused = await cp.call('DELETE', `${G}/projects/shop${query}`, { kind: 'DeleteOptions', alsoDeleting: [{ kind: 'Service', name: 'web' }] });
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.equal(refused.body.kind, 'Status');
        assert.equal(refused.body.reason, 'Conflict');
        assert.match(refused.body.message, /project shop still holds 2 object\(s\) this request does not delete: service\/worker, secret\/db; .*--cascade/);
        assert.deepEqual(refused.body.details.causes.map((c: { field: string; reason: string }) => [c.field, c.reason]), [['service/shop/worker', 'ObjectInProject'], ['secret/shop/db', 'ObjectInProject']]);
      }
      assert.equal((await cp.call('GET', `${G}/projects/shop`)).status, 200);
      const named = await cp.call('DELETE', `${G}/projects/shop`, { kind: 'DeleteOptions', alsoDeleting: [{ kind: 'Service', name: 'web' }, { kind: 'Service', name: 'worker' }, { kind: 'Secret', name: 'db' }] });
      assert.equal(named.status, 200, JSON.stringify(named.body));
    });

    it('deletes a Project with its contents when asked to cascade (propagationPolicy Foreground)', async () => {
      await created('projects', project('cart'));
      await created('namespaces/cart/services', service('cart', 'web'));
      assert.equal((await cp.call('DELETE', `${G}/projects/cart`)).status, 409);
      const cascade = await cp.call('DELETE', `${G}/projects/cart`, { kind: 'DeleteOptions', propagationPolicy: 'Foreground' });
      assert.equal(cascade.status, 200, JSON.stringify(cascade.body));
    });

    it('refuses a Server that Services target, naming them, unless forced', async () => {
      await created('projects', project('blog'));
      await created('namespaces/blog/services', service('blog', 'web', 'edge-2'));
      const refused = await cp.call('DELETE', `${G}/servers/edge-2`);
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.match(refused.body.message, /server edge-2 is still the target of 1 service\(s\): service\/blog\/web; .*--force/);
      assert.deepEqual(refused.body.details.causes.map((c: { field: string }) => c.field), ['service/blog/web']);
      assert.equal((await cp.call('GET', `${G}/servers/edge-2`)).status, 200);
      const forced = await cp.call('DELETE', `${G}/servers/edge-2`, { kind: 'DeleteOptions', gracePeriodSeconds: 0 });
      assert.equal(forced.status, 200, JSON.stringify(forced.body));
      assert.equal((await cp.call('GET', `${G}/servers/edge-2`)).status, 404);
    });

    it('refuses any delete of an object with holdfast.dev/delete-protection: "true" until the annotation is removed', async () => {
      await created('projects', project('bank'));
      const ledger = service('bank', 'ledger');
      await created('namespaces/bank/services', { ...ledger, metadata: { ...ledger.metadata, annotations: { 'holdfast.dev/delete-protection': 'true' } } });
      const refused = await cp.call('DELETE', `${G}/namespaces/bank/services/ledger`);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.match(refused.body.message, /service\/ledger is protected by the annotation holdfast\.dev\/delete-protection: "true"; remove it to delete the service/);
      const cascade = await cp.call('DELETE', `${G}/projects/bank`, { kind: 'DeleteOptions', propagationPolicy: 'Foreground' });
      assert.equal(cascade.status, 403, JSON.stringify(cascade.body));
      assert.match(cascade.body.message, /project bank holds objects protected by holdfast\.dev\/delete-protection: service\/ledger/);
      const unprotect = await cp.call('PATCH', `${G}/namespaces/bank/services/ledger`, { metadata: { annotations: { 'holdfast.dev/delete-protection': null } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(unprotect.status, 200, JSON.stringify(unprotect.body));
      assert.equal((await cp.call('DELETE', `${G}/namespaces/bank/services/ledger`)).status, 200);
    });

    it('answers a DELETE body that is not DeleteOptions with 400', async () => {
      const res = await cp.call('DELETE', `${G}/servers/edge-1`, ['not', 'options']);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.message, /DeleteOptions/);
    });
  });
}
