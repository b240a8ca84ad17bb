// Build context uploads over HTTP: content-addressed, checked against the digest, stored once, with
// clear errors for every wrong request and an audit row per stored context.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { pruneBuildContexts } from '../../../api/housekeeping.js';
import { auditLog } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`build context API on ${driver}`, () => {
    let cp: TestControlPlane;
    const put = (namespace: string, digest: string, body: Uint8Array | string, type = 'application/x-tar') =>
      fetch(`${cp.url}${G}/namespaces/${namespace}/buildcontexts/${digest}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${cp.token}`, 'content-type': type },
        body: body as Uint8Array<ArrayBuffer>,
      });
    before(async () => {
      cp = await startTestControlPlane(driver, { parts: { startControllers: false } });
      const res = await cp.call('POST', `${G}/projects`, { kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });
    after(async () => cp.stop());

    it('stores a tar once under its digest and says whether it holds one', async () => {
      const tar = randomBytes(3 * 1024 * 1024 + 17);
      const digest = digestOf(tar);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/buildcontexts/${digest}`)).status, 404);
      const first = await put('shop', digest, tar);
      assert.equal(first.status, 201);
      const body = await first.json();
      assert.equal(body.kind, 'BuildContext');
      assert.equal(body.metadata.name, digest);
      assert.equal(body.size, tar.length);
      assert.equal((await put('shop', digest, tar)).status, 200, 'the second upload finds it there');
      const got = await cp.call('GET', `${G}/namespaces/shop/buildcontexts/${digest}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.size, tar.length);
      assert.deepEqual(await cp.plane.buildContexts.read('shop', digest), tar);
      const audit = await cp.plane.database.db.select().from(auditLog).where(and(eq(auditLog.kind, 'BuildContext'), eq(auditLog.name, digest)));
      assert.equal(audit.length, 1, 'one audit row, for the upload that stored it');
      assert.equal(audit[0].verb, 'upload');
      assert.equal(audit[0].actor, 'token:admin');
    });

    it('housekeeping removes contexts no Service names once unused, and keeps the ones a Service names', async () => {
      const named = Buffer.from('named by the service');
      const orphan = Buffer.from('named by nothing');
      for (const t of [named, orphan]) assert.equal((await put('shop', digestOf(t), t)).status, 201);
      const svc = await cp.call('POST', `${G}/namespaces/shop/services`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'Service',
        metadata: { name: 'built', namespace: 'shop' },
        spec: { environment: 'production', server: 'edge-1', source: { compose: { inline: { services: { app: { build: './app' } } }, buildContexts: { app: digestOf(named) } } } },
      });
      assert.equal(svc.status, 201, JSON.stringify(svc.body));
      assert.deepEqual(await pruneBuildContexts(cp.plane.store, cp.plane.buildContexts, new Date(Date.now() - 60_000)), [], 'nothing is removed before it went unused');
      const removed = await pruneBuildContexts(cp.plane.store, cp.plane.buildContexts, new Date(Date.now() + 60_000));
      assert.ok(removed.some((r) => r.digest === digestOf(orphan)), 'the orphan is removed');
      assert.ok(!removed.some((r) => r.digest === digestOf(named)), 'the named one stays');
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/buildcontexts/${digestOf(named)}`)).status, 200);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/buildcontexts/${digestOf(orphan)}`)).status, 404);
    });

    const cases: Array<[string, () => Promise<Response>, number, RegExp]> = [
      ['bytes that are not what the digest names', () => put('shop', digestOf(Buffer.from('a')), 'b'), 400, /does not match its name/],
      ['a name that is not a digest', () => put('shop', 'sha256:ABC', 'x'), 400, /not a build context digest/],
      ['a body that is not a tar', () => put('shop', digestOf(Buffer.from('{}')), '{}', 'application/json'), 415, /application\/x-tar/],
      ['a namespace without a Project', () => put('nowhere', digestOf(Buffer.from('x')), 'x'), 404, /nowhere/],
      ['a tar over 64 MiB', () => put('shop', `sha256:${'0'.repeat(64)}`, Buffer.alloc(64 * 1024 * 1024 + 1)), 413, /too large/],
    ];
    for (const [what, send, status, message] of cases) {
      it(`refuses ${what} with ${status} and a Status that says why`, async () => {
        const res = await send();
        assert.equal(res.status, status);
        const body = await res.json();
        assert.equal(body.kind, 'Status');
        assert.match(body.message, message);
      });
    }
  });
}
