import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REFUSED_COMPOSE_FILES, UNSUPPORTED_COMPOSE_KEYS } from '../../support/compose-refusals.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const SERVICES = `${G}/namespaces/shop/services`;
const project = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'staging' }, { name: 'production' }] } };
const server = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'edge-1' }, spec: { kind: 'docker-engine', host: '127.0.0.1', user: 'deploy', sshKeyRef: { name: 'k' } } };
const composeService = (name: string, yaml: string, files: Record<string, string> = {}, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { environment: 'production', server: 'edge-1', ...spec, source: { compose: { file: 'compose.yaml', files: { 'compose.yaml': yaml, ...files } } } },
});

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`admission of Services on ${driver}`, () => {
    let cp: TestControlPlane;
    before(async () => {
      cp = await startTestControlPlane(driver, { parts: { startControllers: false } });
      assert.equal((await cp.call('POST', `${G}/projects`, project)).status, 201);
      assert.equal((await cp.call('POST', `${G}/servers`, server)).status, 201);
    });
    after(async () => cp.stop());

    /** Refused with 422 at the dry run and at the create, naming the place (and the file, for a key); nothing stored. */
    async function assertRefused(body: ReturnType<typeof composeService>, message: RegExp | string) {
      for (const query of ['?dryRun=All', '']) {
        const res = await cp.call('POST', SERVICES + query, body);
        assert.equal(res.status, 422, `${query || 'create'}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.reason, 'Invalid');
        if (typeof message === 'string') assert.ok(res.body.message.startsWith('compose file compose.yaml: '), res.body.message);
        if (typeof message === 'string') assert.ok(res.body.details.causes.some((c: { message: string }) => c.message === message), JSON.stringify(res.body.details));
        else assert.match(res.body.message, message);
        assert.equal(res.body.details.kind, 'Service');
        assert.equal(res.body.details.name, body.metadata.name);
      }
      assert.equal((await cp.call('GET', `${SERVICES}/${body.metadata.name}`)).status, 404);
    }

    it('refuses every compose key the rollout does not support, before storing', async () => {
      for (const [what, yaml, message] of UNSUPPORTED_COMPOSE_KEYS) {
        await assertRefused(composeService('web', yaml), message).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
      }
    });

    it('refuses every compose file the rollout refuses, before storing', async () => {
      for (const [what, yaml, message, files, spec] of REFUSED_COMPOSE_FILES) {
        await assertRefused(composeService('web', yaml, files, spec), message).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
      }
    });

    it('refuses an update that the rollout would refuse, keeping the stored spec', async () => {
      const created = await cp.call('POST', SERVICES, composeService('store', 'services:\n  web:\n    image: nginx\n'));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const patched = await cp.call('PATCH', `${SERVICES}/store`, { spec: { source: { compose: { files: { 'compose.yaml': 'services:\n  web:\n    image: nginx\n    develop: {watch: []}\n' } } } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(patched.status, 422, JSON.stringify(patched.body));
      assert.match(patched.body.message, /not supported: services\.web\.develop/);
      const stored = await cp.call('GET', `${SERVICES}/store`);
      assert.equal(stored.body.metadata.generation, 1);
      assert.doesNotMatch(stored.body.spec.source.compose.files['compose.yaml'], /develop/);
      assert.equal((await cp.call('DELETE', `${SERVICES}/store`)).status, 200);
    });

    it('refuses an environment the Project does not declare', async () => {
      const body = { ...composeService('web', 'services:\n  web:\n    image: nginx\n'), spec: { environment: 'prod', server: 'edge-1', source: { image: 'nginx:1' } } };
      const res = await cp.call('POST', SERVICES, body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.reason, 'Invalid');
      assert.match(res.body.message, /environment "prod" is not declared by Project shop \(it declares staging, production\)/);
      assert.deepEqual(res.body.details.causes.map((c: { field: string }) => c.field), ['spec.environment']);
      assert.equal((await cp.call('GET', `${SERVICES}/web`)).status, 404);
    });

    it('accepts a Server or Secret that does not exist yet, with a Kubernetes warning for each', async () => {
      const body = {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'Service',
        metadata: { name: 'later', namespace: 'shop' },
        spec: { environment: 'staging', server: 'edge-9', source: { image: 'nginx:1' }, env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] },
      };
      const dry = await cp.call('POST', `${SERVICES}?dryRun=All`, body);
      assert.equal(dry.status, 201, JSON.stringify(dry.body));
      assert.equal(dry.headers.get('warning'), '299 - "server edge-9 does not exist yet", 299 - "secret db does not exist yet"');
      const created = await cp.call('POST', SERVICES, body);
      assert.equal(created.status, 201);
      assert.match(created.headers.get('warning') ?? '', /server edge-9 does not exist yet/);
      const moved = await cp.call('PATCH', `${SERVICES}/later`, { spec: { server: 'edge-1', env: [] } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.headers.get('warning'), null);
      assert.equal((await cp.call('DELETE', `${SERVICES}/later`)).status, 200);
    });
  });
}
