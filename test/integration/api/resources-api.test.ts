import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dump } from 'js-yaml';
import { auditLog, sealedValues } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const project = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'staging' }, { name: 'production' }] } };
const service = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { environment: 'production', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' }, ...extra },
});

function opensshPrivateKey(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hf-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    return readFileSync(join(dir, 'id'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`resource API on ${driver}`, () => {
    let cp: TestControlPlane;
    before(async () => {
      // The API alone: no controller adds finalizers or writes status behind the assertions.
      cp = await startTestControlPlane(driver, { parts: { startControllers: false } });
      const res = await cp.call('POST', `${G}/projects`, project);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });
    after(async () => cp.stop());

    it('serves health and discovery', async () => {
      assert.equal((await fetch(cp.url + '/healthz')).status, 200);
      assert.equal((await fetch(cp.url + '/readyz')).status, 200);
      const groups = await cp.call('GET', '/apis');
      assert.equal(groups.body.groups[0].name, 'holdfast.dev');
      const resources = await cp.call('GET', G);
      const services = resources.body.resources.find((r: { name: string }) => r.name === 'services');
      assert.equal(services.kind, 'Service');
      assert.equal(services.namespaced, true);
      assert.ok(resources.body.resources.some((r: { name: string }) => r.name === 'services/status'));
    });

    it('serves the OpenAPI v3 discovery and the group-version’s document, cached by the hash of its content', async () => {
      const discovery = await cp.call('GET', '/openapi/v3');
      assert.equal(discovery.status, 200);
      const url = discovery.body.paths['apis/holdfast.dev/v1alpha1'].serverRelativeURL as string;
      assert.match(url, /^\/openapi\/v3\/apis\/holdfast\.dev\/v1alpha1\?hash=[0-9A-F]{128}$/);
      const doc = await fetch(cp.url + url, { headers: { authorization: `Bearer ${cp.token}` } });
      assert.equal(doc.status, 200);
      assert.equal(doc.headers.get('cache-control'), 'public, immutable');
      const body = (await doc.json()) as { openapi: string; components: { schemas: Record<string, unknown> }; paths: Record<string, unknown> };
      assert.equal(body.openapi, '3.0.0');
      assert.ok(body.components.schemas['dev.holdfast.v1alpha1.Service']);
      assert.ok(body.paths['/apis/holdfast.dev/v1alpha1/namespaces/{namespace}/services/{name}']);
      const stale = await fetch(cp.url + '/openapi/v3/apis/holdfast.dev/v1alpha1?hash=0', { headers: { authorization: `Bearer ${cp.token}` }, redirect: 'manual' });
      assert.equal(stale.status, 301);
      assert.equal(stale.headers.get('location'), url);
      assert.equal((await fetch(cp.url + '/openapi/v3')).status, 401, 'a token is needed, as for /openapi/v2');
    });

    it('requires a valid bearer token', async () => {
      const none = await fetch(cp.url + `${G}/projects`);
      assert.equal(none.status, 401);
      const body = await none.json();
      assert.equal(body.kind, 'Status');
      assert.equal(body.reason, 'Unauthorized');
      const wrong = await fetch(cp.url + `${G}/projects`, { headers: { authorization: 'Bearer hft_not-a-real-token' } });
      assert.equal(wrong.status, 401);
    });

    it('creates, gets, lists, replaces and deletes a namespaced object', async () => {
      const created = await cp.call('POST', `${G}/namespaces/shop/services`, service('web'));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.metadata.generation, 1);
      assert.equal(created.body.spec.replicas, 1, 'schema default applied');
      const got = await cp.call('GET', `${G}/namespaces/shop/services/web`);
      assert.equal(got.body.metadata.uid, created.body.metadata.uid);
      const list = await cp.call('GET', `${G}/services`);
      assert.equal(list.body.kind, 'ServiceList');
      assert.ok(list.body.items.some((s: { metadata: { name: string } }) => s.metadata.name === 'web'));
      const replaced = await cp.call('PUT', `${G}/namespaces/shop/services/web`, { ...got.body, spec: { ...got.body.spec, replicas: 2 } });
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      assert.equal(replaced.body.metadata.generation, 2);
      const stale = await cp.call('PUT', `${G}/namespaces/shop/services/web`, { ...got.body, spec: { ...got.body.spec, replicas: 3 } });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.reason, 'Conflict');
      const del = await cp.call('DELETE', `${G}/namespaces/shop/services/web`);
      assert.equal(del.status, 200);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/services/web`)).status, 404);
    });

    it('patches with merge patch and JSON patch', async () => {
      await cp.call('POST', `${G}/namespaces/shop/services`, service('patched'));
      const merge = await cp.call('PATCH', `${G}/namespaces/shop/services/patched`, { metadata: { labels: { tier: 'web' } }, spec: { replicas: 3 } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(merge.status, 200, JSON.stringify(merge.body));
      assert.equal(merge.body.spec.replicas, 3);
      assert.equal(merge.body.metadata.labels.tier, 'web');
      const jsonPatch = await cp.call('PATCH', `${G}/namespaces/shop/services/patched`, [{ op: 'replace', path: '/spec/replicas', value: 1 }], { 'content-type': 'application/json-patch+json' });
      assert.equal(jsonPatch.body.spec.replicas, 1);
      const bad = await cp.call('PATCH', `${G}/namespaces/shop/services/patched`, { spec: { replicas: 'many' } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(bad.status, 400);
      const selected = await cp.call('GET', `${G}/namespaces/shop/services?labelSelector=tier%3Dweb`);
      assert.deepEqual(selected.body.items.map((s: { metadata: { name: string } }) => s.metadata.name), ['patched']);
    });

    it('applies server-side (application/apply-patch+yaml): creates, then lays the object over the stored one', async () => {
      const path = `${G}/namespaces/shop/services/applied?fieldManager=test`;
      const apply = (body: string) => cp.call('PATCH', path, body, { 'content-type': 'application/apply-patch+yaml' });
      const created = await apply(dump(service('applied')));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.spec.environment, 'production');
      const changed = await apply(dump(service('applied', { replicas: 2 })).replace('namespace: shop', 'namespace: shop\n  labels: { tier: web }'));
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.equal(changed.body.spec.replicas, 2);
      assert.equal(changed.body.metadata.labels.tier, 'web');
      assert.equal(changed.body.metadata.uid, created.body.metadata.uid);
      assert.equal(changed.body.metadata.generation, 2);
      const other = await apply(dump(service('someone-else')));
      assert.equal(other.status, 400);
      assert.match(other.body.message, /declares metadata\.name "someone-else", not "applied" as its path says/);
      const broken = await apply('spec: [unclosed');
      assert.equal(broken.status, 400);
      assert.match(broken.body.message, /the apply patch is not valid YAML/);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/services/applied`)).body.spec.replicas, 2, 'refused applies change nothing');
    });

    it('re-applies a patch without a resourceVersion when writes race it; one that names a stale version gets 409', async () => {
      await cp.call('POST', `${G}/namespaces/shop/services`, service('raced'));
      const patches = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          cp.call('PATCH', `${G}/namespaces/shop/services/raced`, { metadata: { labels: { [`l${i}`]: 'x' } } }, { 'content-type': 'application/merge-patch+json' }),
        ),
      );
      assert.deepEqual(patches.map((p) => p.status), Array(8).fill(200), JSON.stringify(patches.map((p) => p.body.message)));
      const after = await cp.call('GET', `${G}/namespaces/shop/services/raced`);
      assert.deepEqual(Object.keys(after.body.metadata.labels).sort(), ['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7'], 'no patch was lost');
      const stale = await cp.call('PATCH', `${G}/namespaces/shop/services/raced`, { metadata: { resourceVersion: '1' }, spec: { replicas: 2 } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(stale.status, 409);
    });

    it('writes status only through the status subresource', async () => {
      const created = await cp.call('POST', `${G}/namespaces/shop/services`, { ...service('st'), status: { observedGeneration: 7 } });
      assert.equal(created.body.status, undefined, 'status in a create body is ignored');
      const st = await cp.call('PUT', `${G}/namespaces/shop/services/st/status`, { ...created.body, status: { observedGeneration: 1, conditions: [] } });
      assert.equal(st.status, 200, JSON.stringify(st.body));
      assert.equal(st.body.status.observedGeneration, 1);
      assert.equal(st.body.metadata.generation, 1);
    });

    it('dry runs validate and write nothing', async () => {
      const res = await cp.call('POST', `${G}/namespaces/shop/services?dryRun=All`, service('dry'));
      assert.equal(res.status, 201);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/services/dry`)).status, 404);
    });

    const badInputs: Array<{ name: string; path: string; body: unknown; raw?: boolean; status: number; reason: string; fields?: string[]; message?: RegExp }> = [
      { name: 'unknown field', path: `${G}/namespaces/shop/services`, body: service('u1', { replcas: 2 }), status: 400, reason: 'BadRequest', fields: ['spec.replcas'] },
      { name: 'wrong type', path: `${G}/namespaces/shop/services`, body: service('u2', { replicas: 'two' }), status: 400, reason: 'BadRequest', fields: ['spec.replicas'] },
      { name: 'several errors listed at once', path: `${G}/namespaces/shop/services`, body: service('u3', { replicas: 'two', bogus: true }), status: 400, reason: 'BadRequest', fields: ['spec.replicas', 'spec.bogus'] },
      { name: 'uppercase name', path: `${G}/namespaces/shop/services`, body: service('Web'), status: 400, reason: 'BadRequest', fields: ['metadata.name'] },
      { name: 'shell metacharacters in name', path: `${G}/namespaces/shop/services`, body: service('web;rm'), status: 400, reason: 'BadRequest', fields: ['metadata.name'] },
      { name: 'namespace without a Project', path: `${G}/namespaces/nope/services`, body: { ...service('x'), metadata: { name: 'x', namespace: 'nope' } }, status: 404, reason: 'NotFound', message: /Project "nope"/ },
      { name: 'kind that does not match the URL', path: `${G}/namespaces/shop/services`, body: { ...project, metadata: { name: 'p2' } }, status: 400, reason: 'BadRequest', message: /kind "Project"/ },
      { name: 'malformed JSON', path: `${G}/projects`, body: '{"kind": "Project", ', raw: true, status: 400, reason: 'BadRequest', message: /not valid JSON/ },
      { name: 'a 10 MB document', path: `${G}/projects`, body: JSON.stringify({ ...project, metadata: { name: 'big' }, spec: { description: 'x'.repeat(10 * 1024 * 1024) } }), raw: true, status: 413, reason: 'RequestEntityTooLarge' },
      { name: 'unknown resource', path: `${G}/widgets`, body: {}, status: 404, reason: 'NotFound' },
    ];
    for (const tc of badInputs) {
      it(`rejects ${tc.name} clearly and writes nothing`, async () => {
        const before = await cp.plane.store.currentResourceVersion();
        const res = await cp.call('POST', tc.path, tc.body);
        assert.equal(res.status, tc.status, JSON.stringify(res.body).slice(0, 500));
        assert.equal(res.body.kind, 'Status');
        assert.equal(res.body.reason, tc.reason);
        assert.doesNotMatch(JSON.stringify(res.body), /at .*\.(ts|js):\d+/, 'no stack trace');
        if (tc.fields) {
          const fields = (res.body.details?.causes ?? []).map((c: { field: string }) => c.field);
          for (const f of tc.fields) assert.ok(fields.includes(f), `cause for ${f} in ${JSON.stringify(res.body)}`);
        }
        if (tc.message) assert.match(res.body.message, tc.message);
        // Lease renewals are the control plane's own heartbeat, not a write of the request's.
        const changes = (await cp.plane.store.changesSince(before))?.filter((c) => c.object.kind !== 'Lease');
        assert.deepEqual(changes, []);
      });
    }

    it('never returns Secret values, and stores them only sealed', async () => {
      const secret = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, spec: { stringData: { password: 'canary-4f1b9e' } } };
      const created = await cp.call('POST', `${G}/namespaces/shop/secrets`, secret);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const got = await cp.call('GET', `${G}/namespaces/shop/secrets/db`);
      assert.doesNotMatch(JSON.stringify(created.body) + JSON.stringify(got.body), /canary-4f1b9e/);
      assert.deepEqual(got.body.status.keys, ['password']);
      const rows = await cp.plane.database.db.select().from(sealedValues);
      assert.ok(rows.length > 0);
      assert.doesNotMatch(JSON.stringify(rows), /canary-4f1b9e/);
      const again = await cp.call('PUT', `${G}/namespaces/shop/secrets/db`, { ...secret, metadata: { ...secret.metadata } });
      assert.equal(again.body.metadata.generation, 1, 'the same value does not move the generation');
      const changed = await cp.call('PUT', `${G}/namespaces/shop/secrets/db`, { ...secret, spec: { stringData: { password: 'other' } } });
      assert.equal(changed.body.metadata.generation, 2);
    });

    it('returns only the fingerprint of an SSHKey', async () => {
      const key = opensshPrivateKey();
      const res = await cp.call('POST', `${G}/sshkeys`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'deploy-key' }, spec: { privateKey: key } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.match(res.body.status.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.equal(res.body.status.type, 'ssh-ed25519');
      assert.doesNotMatch(JSON.stringify(res.body), /PRIVATE KEY/);
      const bad = await cp.call('POST', `${G}/sshkeys`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'bad-key' }, spec: { privateKey: 'not a key' } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.message, /private key/);
    });

    it('audits each write once, with actor and outcome, including failures', async () => {
      const before = (await cp.plane.database.db.select().from(auditLog)).length;
      await cp.call('POST', `${G}/namespaces/shop/services`, service('aud'));
      await cp.call('POST', `${G}/namespaces/shop/services`, service('aud'));
      const rows = (await cp.plane.database.db.select().from(auditLog)).slice(before);
      assert.deepEqual(rows.map((r) => [r.verb, r.name, r.outcome]), [['create', 'aud', 'Success'], ['create', 'aud', 'Failure']]);
      assert.equal(rows[0].actor, 'token:admin');
    });

    it('streams watch events from a resourceVersion in the Kubernetes wire format', async () => {
      const list = await cp.call('GET', `${G}/namespaces/shop/services`);
      const ac = new AbortController();
      const res = await fetch(`${cp.url}${G}/namespaces/shop/services?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`, {
        headers: { authorization: `Bearer ${cp.token}` },
        signal: ac.signal,
      });
      const events: Array<{ type: string; object: { metadata: { name: string } } }> = [];
      const reader = res.body!.getReader();
      const reading = (async () => {
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += Buffer.from(value).toString('utf8');
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
          if (events.length >= 3) return;
        }
      })();
      await cp.call('POST', `${G}/namespaces/shop/services`, service('w1'));
      await cp.call('PATCH', `${G}/namespaces/shop/services/w1`, { spec: { replicas: 2 } }, { 'content-type': 'application/merge-patch+json' });
      await cp.call('DELETE', `${G}/namespaces/shop/services/w1`);
      await Promise.race([reading, new Promise((_, fail) => setTimeout(() => fail(new Error('watch timed out')), 5000))]);
      ac.abort();
      assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w1'], ['MODIFIED', 'w1'], ['DELETED', 'w1']]);
    });

    it('answers a too-old resourceVersion with 410 Expired as an ERROR event', async () => {
      // Compact everything but the newest change, then ask from the beginning.
      await cp.plane.store.pruneChanges(new Date(Date.now() + 60_000));
      const res = await fetch(`${cp.url}${G}/projects?watch=true&resourceVersion=1`, { headers: { authorization: `Bearer ${cp.token}` } });
      const first = JSON.parse((await res.text()).split('\n')[0]);
      assert.equal(first.type, 'ERROR');
      assert.equal(first.object.code, 410);
    });
  });
}

describe('metrics endpoint', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane('pglite', { parts: { startControllers: false } });
  });
  after(async () => cp.stop());

  it('exposes Prometheus metrics with API requests counted by route pattern, not by name', async () => {
    await cp.call('GET', `${G}/projects`);
    await cp.call('GET', `${G}/projects/does-not-exist`);
    const res = await cp.call('GET', '/metrics');
    assert.equal(res.status, 200);
    const text = String(res.body);
    assert.match(text, /^# TYPE holdfast_api_requests_total counter$/m);
    assert.match(text, /holdfast_api_requests_total\{route="\/apis\/holdfast\.dev\/v1alpha1\/projects",method="GET",code="200"\} 1/);
    assert.match(text, /holdfast_api_requests_total\{route="\/apis\/holdfast\.dev\/v1alpha1\/projects\/:name",method="GET",code="404"\} 1/);
    assert.doesNotMatch(text, /does-not-exist/);
    assert.match(text, /^# TYPE holdfast_reconcile_duration_seconds histogram$/m);
    assert.equal((await fetch(cp.url + '/metrics')).status, 401, 'metrics need a token');
  });
});
