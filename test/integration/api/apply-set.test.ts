// Server-side apply of a set (POST …/apply) against applying one object at a time through the
// resource routes, as `holdfast apply` did before (GET, then POST, or a dry-run PUT and a PUT): on
// the examples and the compose corpus both give the same actions, the same stored objects and the
// same changes; a stale set fails 409 naming its object and stores nothing; each object needs its
// own kind's scope; every object is audited.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import { desc } from 'drizzle-orm';
import { isUnchanged, manifestForCreate, mergeManifestOntoLive, userOwnedView, type AppliedObject } from '../../../core/apply-merge.js';
import { kindInfo, type KindInfo, type Resource } from '../../../core/resource.js';
import { loadManifests, sortForApply } from '../../../manifests/load.js';
import { packageRoot } from '../../../core/package-root.js';
import { auditLog } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const ROOT = packageRoot();

/** The manifests of a directory as the CLI sends them: validated, compose files bundled, in apply order. */
async function corpus(dir: string): Promise<Resource[]> {
  const paths = [join(dir, 'examples', 'manifests'), join(dir, 'corpus-services.yaml')];
  const manifests = sortForApply(await loadManifests(paths, { recursive: true, refuseKinds: ['Event'], validateSchema: true }));
  return manifests.map((m) => manifestForCreate(m.object, m.kind));
}

const pathOf = (info: KindInfo, obj: Resource, name = true) =>
  `${G}/${info.namespaced ? `namespaces/${obj.metadata.namespace}/` : ''}${info.plural}${name ? `/${obj.metadata.name}` : ''}`;
const view = (info: KindInfo, obj: Resource) => userOwnedView(obj, info) as unknown as Record<string, unknown>;

/** One object through the resource routes, as the CLI applied before the set route: its action and change. */
async function applyOne(cp: TestControlPlane, manifest: Resource): Promise<{ action: string; diff: unknown[] }> {
  const info = kindInfo(manifest.kind)!;
  const got = await cp.call('GET', pathOf(info, manifest));
  if (got.status === 404) {
    const created = await cp.call('POST', pathOf(info, manifest, false), manifest);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return { action: 'created', diff: fastJsonPatch.compare({}, view(info, created.body)) };
  }
  const live = got.body as Resource;
  const merged = mergeManifestOntoLive(live, manifest, info);
  if (isUnchanged(live, merged, info)) return { action: 'unchanged', diff: [] };
  const predicted = (await cp.call('PUT', `${pathOf(info, manifest)}?dryRun=All`, merged)).body as Resource;
  const same = info.writeOnly
    ? predicted.metadata.generation === live.metadata.generation && JSON.stringify(view(info, live).metadata) === JSON.stringify(view(info, predicted).metadata)
    : JSON.stringify(fastJsonPatch.compare(view(info, live), view(info, predicted))) === '[]';
  if (same) return { action: 'unchanged', diff: [] };
  const updated = await cp.call('PUT', pathOf(info, manifest), merged);
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  return { action: 'configured', diff: fastJsonPatch.compare(view(info, live), view(info, updated.body)) };
}

async function applySet(cp: TestControlPlane, items: Resource[], query = ''): Promise<{ status: number; body: any }> {
  return cp.call('POST', `${G}/apply${query}`, { apiVersion: 'v1', kind: 'List', items });
}

/** What a store holds of each object a user owns, and its generation. */
async function stored(cp: TestControlPlane, items: Resource[]) {
  return Promise.all(
    items.map(async (m) => {
      const info = kindInfo(m.kind)!;
      const got = (await cp.call('GET', pathOf(info, m))).body as Resource;
      return { view: view(info, got), generation: got.metadata.generation };
    }),
  );
}

/** The examples and, as compose Services of their own Project, every compose file of the compose corpus. */
function writeCorpus(dir: string): void {
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  const composeDir = join(ROOT, 'test', 'unit', 'compose', 'testdata');
  const project = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'corpus' }, spec: { environments: [{ name: 'production' }] } };
  const docs: unknown[] = [project];
  for (const fixture of readdirSync(composeDir).sort()) {
    cpSync(join(composeDir, fixture), join(dir, 'compose', fixture), { recursive: true });
    docs.push({
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: fixture, namespace: 'corpus', labels: { fixture } },
      spec: { environment: 'production', server: 'edge-1', source: { compose: { file: `compose/${fixture}/compose.yaml` } } },
    });
  }
  writeFileSync(join(dir, 'corpus-services.yaml'), docs.map((d) => JSON.stringify(d)).join('\n---\n'));
}

type Env = Array<{ name: string; value?: string }>;

/** web with its GREETING set to `value`. */
function greeting(web: Resource, value: string): Resource {
  const env = structuredClone((web.spec as { env: Env }).env).map((e) => (e.name === 'GREETING' ? { ...e, value } : e));
  return { ...web, spec: { ...web.spec, env } };
}

/** The corpus edited: a changed env value, label and secret value, one object added. */
function edit(items: Resource[]): Resource[] {
  const out = structuredClone(items).map((m) => (m.kind === 'Service' && m.metadata.name === 'web' ? greeting(m, 'edited') : m));
  for (const m of out) {
    if (m.kind === 'Service' && m.metadata.name === 'profiles') m.metadata.labels = { ...m.metadata.labels, tier: 'edited' };
    if (m.kind === 'Secret') (m.spec as { stringData?: Record<string, string> }).stringData = { password: 'rotated-value' };
  }
  const web = out.find((m) => m.kind === 'Service' && m.metadata.name === 'web')!;
  const ports = [{ containerPort: 8080, hostPort: 18090, protocol: 'tcp' }];
  out.push({ ...structuredClone(web), metadata: { name: 'web-copy', namespace: web.metadata.namespace }, spec: { ...structuredClone(web.spec), ports } });
  return out;
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`set apply on ${driver}`, () => {
    let perObject: TestControlPlane;
    let set: TestControlPlane;
    let dir: string;
    let items: Resource[];

    before(async () => {
      // The API alone: no controller writes status or finalizers behind the comparisons.
      [perObject, set] = await Promise.all([
        startTestControlPlane(driver, { parts: { startControllers: false } }),
        startTestControlPlane(driver, { parts: { startControllers: false } }),
      ]);
      dir = mkdtempSync(join(tmpdir(), 'holdfast-apply-set-'));
      writeCorpus(dir);
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        items = await corpus(dir);
      } finally {
        process.chdir(cwd);
      }
    });
    after(async () => {
      await Promise.all([perObject?.stop(), set?.stop()]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const steps: Array<[string, () => Resource[], string]> = [
      ['the first apply creates everything', () => items, 'created'],
      ['the same set again changes nothing', () => items, 'unchanged'],
      ['an edited set configures what changed and creates what is new', () => edit(items), ''],
    ];
    for (const [what, input, every] of steps) {
      it(`${what}, as one object at a time does`, async () => {
        const manifests = input();
        const expected: Array<{ action: string; diff: unknown[] }> = [];
        for (const m of manifests) expected.push(await applyOne(perObject, m));
        const res = await applySet(set, manifests);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const answers = res.body.items as AppliedObject[];
        assert.deepEqual(answers.map((a) => a.action), expected.map((e) => e.action));
        assert.deepEqual(answers.map((a) => a.diff), expected.map((e) => e.diff));
        if (every) assert.ok(answers.every((a) => a.action === every), answers.map((a) => a.action).join(' '));
        else assert.deepEqual([...new Set(answers.map((a) => a.action))].sort(), ['configured', 'created', 'unchanged']);
        assert.deepEqual(await stored(set, manifests), await stored(perObject, manifests));
      });
    }

    it('a dry run answers as the apply would and stores nothing', async () => {
      const manifests = structuredClone(items).map((m) => (m.kind === 'Service' && m.metadata.name === 'web' ? greeting(m, 'dry') : m));
      const web = manifests.find((m) => m.kind === 'Service' && m.metadata.name === 'web')!;
      const before = await stored(set, manifests);
      const res = await applySet(set, manifests, '?dryRun=All');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const answer = (res.body.items as AppliedObject[])[manifests.indexOf(web)]!;
      assert.equal(answer.action, 'configured');
      assert.deepEqual(answer.diff, [{ op: 'replace', path: '/spec/env/0/value', value: 'dry' }]);
      assert.deepEqual(await stored(set, manifests), before);
    });

    it('a stale set fails 409 naming the object it read, and stores nothing', async () => {
      const info = kindInfo('Service')!;
      const web = items.find((m) => m.kind === 'Service' && m.metadata.name === 'web')!;
      const read = (await set.call('GET', pathOf(info, web))).body as Resource;
      // Someone changes it after the client read it.
      const moved = await set.call('PUT', pathOf(info, web), greeting(read, 'moved'));
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      const project = items.find((m) => m.kind === 'Project')!;
      const edited = [
        { ...project, metadata: { ...project.metadata, labels: { edited: 'yes' } } },
        { ...greeting(web, 'mine'), metadata: { ...web.metadata, resourceVersion: read.metadata.resourceVersion } },
      ];
      const before = await stored(set, edited);
      const res = await applySet(set, edited);
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.kind, 'Status');
      assert.equal(res.body.reason, 'Conflict');
      assert.deepEqual(res.body.details, { kind: 'Service', name: 'web', group: 'holdfast.dev' });
      assert.match(res.body.message, /^items\[1\] \(Service "shop\/web"\): .*resourceVersion/);
      assert.deepEqual(await stored(set, edited), before, 'the Project edit before it is not stored either');
    });

    it('an invalid object fails the whole set with its path named', async () => {
      const project = items.find((m) => m.kind === 'Project')!;
      const bad = [
        { ...project, metadata: { ...project.metadata, labels: { edited: 'again' } } },
        { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name: 'broken', namespace: 'shop' }, spec: { environment: 'production', server: 'edge-1', source: { image: 'x:1' }, replicas: -1 } },
      ];
      const before = await stored(set, [project]);
      const res = await applySet(set, bad);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.message, /^items\[1\] \(Service "shop\/broken"\): /);
      assert.ok(res.body.details.causes.some((c: { field: string }) => c.field === 'spec.replicas'), JSON.stringify(res.body.details));
      assert.deepEqual(await stored(set, [project]), before);
      assert.equal((await set.call('GET', `${G}/namespaces/shop/services/broken`)).status, 404);
      for (const body of [{}, { kind: 'List', items: [{ kind: 'Widget', metadata: { name: 'x' } }] }, { kind: 'List', items: [project, project] }]) {
        const refused = await set.call('POST', `${G}/apply`, body);
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.equal(refused.body.kind, 'Status');
      }
    });

    it('each object needs its own kind’s scope, and every object is audited', async () => {
      const token = await set.call('POST', `${G}/tokens`, { name: 'services-only', scopes: ['service:write', 'project:read'] });
      assert.equal(token.status, 201, JSON.stringify(token.body));
      const call = (body: unknown) =>
        fetch(`${set.url}${G}/apply`, { method: 'POST', headers: { authorization: `Bearer ${token.body.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const project = items.find((m) => m.kind === 'Project')!;
      const web = items.find((m) => m.kind === 'Service' && m.metadata.name === 'web')!;
      const refused = await call({ kind: 'List', items: [web, { ...project, metadata: { ...project.metadata, labels: { by: 'services-only' } } }] });
      assert.equal(refused.status, 403);
      const status = (await refused.json()) as { message: string; details: unknown };
      assert.match(status.message, /items\[1\]: cannot apply Project "shop"/);
      const allowed = await call({ kind: 'List', items: [greeting(web, 'scoped')] });
      assert.equal(allowed.status, 200, await allowed.text());

      const rows = await set.plane.store.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(1);
      assert.deepEqual(
        rows.map((r) => [r.verb, r.kind, r.namespace, r.name, r.outcome, r.actor]),
        [['update', 'Service', 'shop', 'web', 'Success', 'token:services-only']],
      );
      const again = await applySet(set, items);
      assert.equal(again.status, 200);
      const audited = await set.plane.store.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(items.length);
      assert.equal(audited.length, items.length);
      assert.ok(audited.every((r) => r.outcome === 'Success'), 'one row per object of the set');
    });
  });
}
