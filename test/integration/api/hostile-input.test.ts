// Bad input to the API gets a 4xx Kubernetes Status, never a 500: each case here once was one.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { auditLog } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { aliasBomb, deepJson } from '../../support/hostile-input.js';

const G = '/apis/holdfast.dev/v1alpha1';
const project = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } };
const service = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { environment: 'production', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' }, ...spec },
});
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function assertStatus(res: { status: number; body: any }, code: number, reason: string, message?: RegExp) {
  assert.equal(res.status, code, JSON.stringify(res.body));
  assert.equal(res.body.kind, 'Status');
  assert.equal(res.body.reason, reason);
  if (message) assert.match(res.body.message, message);
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`hostile input to the API on ${driver}`, () => {
    let cp: TestControlPlane;
    before(async () => {
      cp = await startTestControlPlane(driver, { parts: { startControllers: false } });
      assert.equal((await cp.call('POST', `${G}/projects`, project)).status, 201);
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, service('web'))).status, 201);
    });
    after(async () => cp.stop());

    it('refuses a NUL byte in a name or namespace in the path, and keeps the audit row of the failure', async () => {
      assertStatus(await cp.call('GET', `${G}/namespaces/shop/services/we%00b`), 400, 'BadRequest', /NUL/);
      assertStatus(await cp.call('GET', `${G}/namespaces/sh%00op/services`), 400, 'BadRequest', /NUL/);
      // Every route, not only the resource routes: a subresource, a query value.
      assertStatus(await cp.call('GET', `${G}/namespaces/nul%00byte/services/web/views`), 400, 'BadRequest', /NUL/);
      assertStatus(await cp.call('GET', `${G}/drift?namespace=sh%00op`), 400, 'BadRequest', /NUL/);
      const before = (await cp.plane.database.db.select().from(auditLog)).length;
      assertStatus(await cp.call('DELETE', `${G}/namespaces/shop/services/we%00b`), 400, 'BadRequest', /NUL/);
      const rows = (await cp.plane.database.db.select().from(auditLog)).slice(before);
      assert.equal(rows.length, 1, 'the failed delete is audited');
      assert.equal(rows[0].outcome, 'Failure');
      assert.equal(rows[0].name, 'we\\u0000b');
    });

    it('refuses a NUL byte in a body string, naming the field', async () => {
      const res = await cp.call('POST', `${G}/namespaces/shop/services`, service('nul', { env: [{ name: 'A', value: 'x\u0000y' }] }));
      assertStatus(res, 400, 'BadRequest', /spec\.env\[0\]\.value.*NUL/);
      const key = await cp.call('POST', `${G}/namespaces/shop/services`, { ...service('nulkey'), metadata: { name: 'nulkey', namespace: 'shop', labels: { 'a\u0000': 'b' } } });
      assertStatus(key, 400, 'BadRequest', /metadata\.labels.*NUL/);
    });

    it('refuses a name that is not text on a create, with 4xx and an audit row for the failure', async () => {
      for (const [path, kind] of [[`${G}/namespaces/shop/services`, 'Service'], [`${G}/clusterrolebindings`, 'ClusterRoleBinding']]) {
        const before = (await cp.plane.database.db.select().from(auditLog)).length;
        const res = await cp.call('POST', path, { apiVersion: 'holdfast.dev/v1alpha1', kind, metadata: { name: -1 }, spec: {} });
        assert.ok(res.status >= 400 && res.status < 500, `${kind}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.kind, 'Status');
        const rows = (await cp.plane.database.db.select().from(auditLog)).slice(before);
        assert.equal(rows.length, 1, `${kind}: the refused create is audited`);
        assert.equal(rows[0].name, '(unnamed)');
      }
    });

    it('refuses a continue cursor it cannot read, on every list', async () => {
      for (const cursor of ['%%%', b64url({ ns: 'shop' }), b64url({ ns: 'a\u0000', name: 'x' })]) {
        assertStatus(await cp.call('GET', `${G}/services?limit=1&continue=${encodeURIComponent(cursor)}`), 400, 'BadRequest', /continue/);
      }
      for (const cursor of ['%%%', b64url({ at: '1', id: 'x' }), b64url({ at: '275760-09-13T00:00:00.000Z', id: 'x' }), b64url({ at: new Date().toISOString(), id: 'a\u0000' })]) {
        assertStatus(await cp.call('GET', `${G}/tokens?limit=1&continue=${encodeURIComponent(cursor)}`), 400, 'BadRequest', /continue/);
      }
      for (const cursor of ['%%%', b64url({ after: 'x' }), b64url({ after: 2 ** 63 })]) {
        assertStatus(await cp.call('GET', `${G}/auditlog?limit=1&continue=${encodeURIComponent(cursor)}`), 400, 'BadRequest', /continue/);
      }
      assertStatus(await cp.call('GET', `${G}/auditlog?since=${encodeURIComponent('+275760-09-13T00:00:00Z')}`), 400, 'BadRequest', /since/);
      assertStatus(await cp.call('GET', `${G}/auditlog?since=99999999999999d`), 400, 'BadRequest', /since/);
    });

    it('refuses a JSON patch that reaches for __proto__ or constructor', async () => {
      for (const path of ['/__proto__/polluted', '/metadata/__proto__/x', '/constructor/prototype/x']) {
        const res = await cp.call('PATCH', `${G}/namespaces/shop/services/web`, [{ op: 'add', path, value: 1 }], { 'content-type': 'application/json-patch+json' });
        assertStatus(res, 400, 'BadRequest', /patch/);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('refuses a body nested deeper than the limit', async () => {
      const deep = await cp.call('POST', `${G}/namespaces/shop/services`, deepJson(20_000));
      assertStatus(deep, 400, 'BadRequest', /nest/);
      const nestedInObject = `{"apiVersion":"holdfast.dev/v1alpha1","kind":"Service","metadata":{"name":"deep","namespace":"shop"},"spec":{"x":${deepJson(150)}}}`;
      assertStatus(await cp.call('POST', `${G}/namespaces/shop/services`, nestedInObject), 400, 'BadRequest', /nest/);
      assertStatus(await cp.call('PATCH', `${G}/namespaces/shop/services/web`, deepJson(5000), { 'content-type': 'application/merge-patch+json' }), 400, 'BadRequest', /nest/);
    });

    it('answers a Content-Encoding the body does not have with a 4xx, and reads one it does have', async () => {
      for (const encoding of ['gzip', 'br', 'deflate']) {
        const res = await cp.call('POST', `${G}/namespaces/shop/services`, service('enc'), { 'content-encoding': encoding });
        assert.ok(res.status === 400 || res.status === 415, `${encoding}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.kind, 'Status');
      }
      const zipped = await fetch(cp.url + `${G}/namespaces/shop/services`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cp.token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(service('zipped'))),
      });
      assert.equal(zipped.status, 201);
    });

    it('answers a YAML (or any non-JSON) body with 415', async () => {
      const yaml = 'apiVersion: holdfast.dev/v1alpha1\nkind: Service\nmetadata: {name: y, namespace: shop}\n';
      for (const type of ['application/yaml', 'text/plain', 'application/x-www-form-urlencoded']) {
        assertStatus(await cp.call('POST', `${G}/namespaces/shop/services`, yaml, { 'content-type': type }), 415, 'UnsupportedMediaType', /application\/json/);
      }
      assertStatus(await cp.call('PUT', `${G}/namespaces/shop/services/web`, yaml, { 'content-type': 'application/yaml' }), 415, 'UnsupportedMediaType');
      assertStatus(await cp.call('POST', `${G}/tokens`, 'name: x', { 'content-type': 'application/yaml' }), 415, 'UnsupportedMediaType');
    });

    it('refuses a resourceVersion that is not a number with 400, a stale one with 409', async () => {
      const current = (await cp.call('GET', `${G}/namespaces/shop/services/web`)).body;
      for (const rv of ['abc', '-1', '1.5', ' 1']) {
        const put = await cp.call('PUT', `${G}/namespaces/shop/services/web`, { ...current, metadata: { ...current.metadata, resourceVersion: rv } });
        assertStatus(put, 400, 'BadRequest', /resourceVersion/);
      }
      const patch = await cp.call('PATCH', `${G}/namespaces/shop/services/web`, { metadata: { resourceVersion: 'x' } }, { 'content-type': 'application/merge-patch+json' });
      assertStatus(patch, 400, 'BadRequest', /resourceVersion/);
      const del = await cp.call('DELETE', `${G}/namespaces/shop/services/web`, { preconditions: { resourceVersion: 'x' } });
      assertStatus(del, 400, 'BadRequest', /resourceVersion/);
      assertStatus(await cp.call('GET', `${G}/services?watch=true&resourceVersion=abc`), 400, 'BadRequest', /resourceVersion/);
      const stale = await cp.call('PUT', `${G}/namespaces/shop/services/web`, { ...current, metadata: { ...current.metadata, resourceVersion: '1' } });
      assertStatus(stale, 409, 'Conflict');
    });

    it('refuses a watch from a resourceVersion the server has not reached, as Kubernetes does', async () => {
      const rv = Number(await cp.plane.store.currentResourceVersion());
      const res = await cp.call('GET', `${G}/services?watch=true&timeoutSeconds=5&resourceVersion=${rv + 1000}`);
      assertStatus(res, 504, 'Timeout', new RegExp(`Too large resource version: ${rv + 1000}, current: ${rv}`));
      assert.equal(res.body.details.retryAfterSeconds, 1);
      assert.deepEqual(res.body.details.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
      assertStatus(await cp.call('GET', `${G}/services?watch=true&timeoutSeconds=5&resourceVersion=99999999999999999999999`), 504, 'Timeout');
    });

    it('refuses a compose file with a YAML alias bomb at admission, and stores nothing', async () => {
      const bomb = service('bomb', { source: { compose: { file: 'compose.yaml', files: { 'compose.yaml': aliasBomb(9, 10, 'services') } } } });
      for (const path of [`${G}/namespaces/shop/services?dryRun=All`, `${G}/namespaces/shop/services`]) {
        const res = await cp.call('POST', path, bomb);
        assertStatus(res, 422, 'Invalid', /compose file compose\.yaml: refused: the document is too large: more than 1000000 nodes once aliases are expanded/);
        assert.match(res.body.details.causes[0].message, /refused: the document is too large/);
      }
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/services/bomb`)).status, 404);
    });

    it('lets 100 concurrent merge patches without a resourceVersion all succeed, losing none', async () => {
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, service('contended'))).status, 201);
      const patches = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          cp.call('PATCH', `${G}/namespaces/shop/services/contended`, { metadata: { annotations: { [`p${i}`]: 'x' } } }, { 'content-type': 'application/merge-patch+json' }),
        ),
      );
      const failed = patches.filter((p) => p.status !== 200);
      assert.equal(failed.length, 0, JSON.stringify(failed.slice(0, 3).map((p) => p.body)));
      const after = await cp.call('GET', `${G}/namespaces/shop/services/contended`);
      assert.equal(Object.keys(after.body.metadata.annotations).length, 100, 'every patch is kept');
    });

    it('sends nosniff on every response', async () => {
      for (const path of ['/healthz', `${G}/services`, `${G}/nope`]) {
        const res = await fetch(cp.url + path, { headers: { authorization: `Bearer ${cp.token}` } });
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      }
      const anonymous = await fetch(cp.url + `${G}/services`);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get('x-content-type-options'), 'nosniff');
    });
  });
}
