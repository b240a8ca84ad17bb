// Tokens and the audit log over the API, on PGlite and PostgreSQL: tokens are shown once and listed
// by prefix; scopes are checked; every mutating call leaves exactly one audit row; and when the audit
// row cannot be written (a trigger makes the insert fail), the write does not happen and the client
// gets an error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { apiTokens, auditLog, resources } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const project = (name: string) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { environments: [{ name: 'production' }] } });

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`tokens and audit on ${driver}`, () => {
    let cp: TestControlPlane;
    const as = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(cp.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const auditRows = () => cp.plane.database.db.select().from(auditLog).orderBy(auditLog.id);

    before(async () => {
      cp = await startTestControlPlane(driver);
    });
    after(async () => cp.stop());

    it('creates a token, shows its value once, lists only its prefix, and records its use', async () => {
      const created = await cp.call('POST', `${G}/tokens`, { name: 'ci', scopes: ['project:read', 'audit:read'], expiresIn: '30d' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.match(created.body.token, /^hft_[A-Za-z0-9_-]{40}$/);
      assert.equal(created.body.kind, 'Token');
      assert.deepEqual(created.body.scopes, ['project:read', 'audit:read']);
      const days = (Date.parse(created.body.expiresAt) - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);

      const use = await as(created.body.token, 'GET', `${G}/projects`);
      assert.equal(use.status, 200);
      const list = await cp.call('GET', `${G}/tokens`);
      const ci = list.body.items.find((t: { name: string }) => t.name === 'ci');
      assert.equal(ci.prefix, created.body.token.slice(0, 12));
      assert.ok(ci.lastUsedAt, 'last use is recorded');
      const listed = JSON.stringify(list.body);
      assert.ok(!listed.includes(created.body.token), 'the value is never listed');
      const [row] = await cp.plane.database.db.select().from(apiTokens).where(sql`${apiTokens.name} = 'ci'`);
      assert.ok(!JSON.stringify(row).includes(created.body.token), 'only the hash is stored');
    });

    it('rejects unknown scopes with the list of valid ones, bad names, bad lifetimes and duplicates', async () => {
      const unknown = await cp.call('POST', `${G}/tokens`, { name: 'x', scopes: ['deploy:read', 'deploy:everything'] });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.message, /unknown scope "deploy:everything"; valid scopes: project:read, .*deploy:start.*, or \* for all/);
      assert.equal((await cp.call('POST', `${G}/tokens`, { name: 'Bad Name', scopes: ['project:read'] })).status, 400);
      assert.equal((await cp.call('POST', `${G}/tokens`, { name: 'x', scopes: [] })).status, 400);
      const lifetime = await cp.call('POST', `${G}/tokens`, { name: 'x', scopes: ['project:read'], expiresIn: 'soon' });
      assert.equal(lifetime.status, 400);
      assert.match(lifetime.body.message, /invalid expiresIn "soon"/);
      assert.equal((await cp.call('POST', `${G}/tokens`, { name: 'dup', scopes: ['project:read'] })).status, 201);
      const dup = await cp.call('POST', `${G}/tokens`, { name: 'dup', scopes: ['project:read'] });
      assert.equal(dup.status, 409);
      assert.match(dup.body.message, /already exists/);
    });

    it('lets a token administrator grant only the scopes it holds', async () => {
      const admin = await cp.call('POST', `${G}/tokens`, { name: 'token-admin', scopes: ['token:admin', 'deploy:read'] });
      const ok = await as(admin.body.token, 'POST', `${G}/tokens`, { name: 'reader', scopes: ['deploy:read'] });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      const escalate = await as(admin.body.token, 'POST', `${G}/tokens`, { name: 'root', scopes: ['*'] });
      assert.equal(escalate.status, 403);
      assert.match(escalate.body.message, /cannot grant scopes it does not hold: \*/);
      assert.equal((await as(admin.body.token, 'POST', `${G}/tokens`, { name: 'writer', scopes: ['secret:write'] })).status, 403);
    });

    it('lets a token administrator revoke only tokens whose scopes it holds', async () => {
      const admin = await cp.call('POST', `${G}/tokens`, { name: 'revoker', scopes: ['token:admin', 'deploy:read'] });
      const wider = await cp.call('POST', `${G}/tokens`, { name: 'wider', scopes: ['deploy:read', 'secret:write'] });
      const narrower = await cp.call('POST', `${G}/tokens`, { name: 'narrower', scopes: ['deploy:read'] });
      for (const target of ['admin', 'wider', wider.body.id]) {
        const denied = await as(admin.body.token, 'DELETE', `${G}/tokens/${target}`);
        assert.equal(denied.status, 403, `${target}: ${JSON.stringify(denied.body)}`);
        assert.equal(denied.body.reason, 'Forbidden');
        assert.match(denied.body.message, /holds scopes the caller does not: (\*|secret:write)/);
      }
      assert.equal((await as(cp.token, 'GET', `${G}/tokens`)).status, 200, 'the admin token still works');
      const listed = (await cp.call('GET', `${G}/tokens`)).body.items as Array<{ name: string; revokedAt?: string }>;
      assert.equal(listed.find((t) => t.name === 'wider')?.revokedAt, undefined);
      assert.equal((await as(admin.body.token, 'DELETE', `${G}/tokens/${narrower.body.id}`)).status, 200);
      assert.equal((await as(admin.body.token, 'DELETE', `${G}/tokens/revoker`)).status, 200, 'a token may revoke itself');
      const failures = (await auditRows()).filter((r) => r.verb === 'revoke' && r.outcome === 'Failure' && r.name !== 'page-0');
      assert.deepEqual(failures.map((r) => r.name), ['admin', 'wider', wider.body.id]);
      assert.equal((await cp.call('DELETE', `${G}/tokens/wider`)).status, 200, 'the admin revokes any token');
    });

    it('revokes by name or id; a revoked or expired token stops working at once', async () => {
      const a = await cp.call('POST', `${G}/tokens`, { name: 'rev-a', scopes: ['project:read'] });
      const b = await cp.call('POST', `${G}/tokens`, { name: 'rev-b', scopes: ['project:read'] });
      assert.equal((await as(a.body.token, 'GET', `${G}/projects`)).status, 200);
      const byName = await cp.call('DELETE', `${G}/tokens/rev-a`);
      assert.equal(byName.status, 200);
      assert.ok(byName.body.revokedAt);
      assert.equal((await as(a.body.token, 'GET', `${G}/projects`)).status, 401);
      // Used just before (so the server remembers it as verified): refused at once all the same.
      assert.equal((await as(b.body.token, 'GET', `${G}/projects`)).status, 200);
      assert.equal((await cp.call('DELETE', `${G}/tokens/${b.body.id}`)).status, 200);
      assert.equal((await as(b.body.token, 'GET', `${G}/projects`)).status, 401);
      const again = await cp.call('DELETE', `${G}/tokens/rev-a`);
      assert.equal(again.status, 404);
      assert.equal((await cp.call('POST', `${G}/tokens`, { name: 'rev-a', scopes: ['project:read'] })).status, 201, 'a revoked name is free again');

      const short = await cp.call('POST', `${G}/tokens`, { name: 'short', scopes: ['project:read'], expiresIn: '1s' });
      assert.equal((await as(short.body.token, 'GET', `${G}/projects`)).status, 200);
      await new Promise((ok) => setTimeout(ok, 1100));
      assert.equal((await as(short.body.token, 'GET', `${G}/projects`)).status, 401);
    });

    it('pages the token list', async () => {
      for (let i = 0; i < 5; i++) await cp.call('POST', `${G}/tokens`, { name: `page-${i}`, scopes: ['project:read'] });
      const all = (await cp.call('GET', `${G}/tokens?limit=500`)).body.items.map((t: { id: string }) => t.id);
      const seen: string[] = [];
      let next: string | undefined;
      let pages = 0;
      do {
        const res = await cp.call('GET', `${G}/tokens?limit=2${next ? `&continue=${next}` : ''}`);
        assert.equal(res.status, 200);
        assert.ok(res.body.items.length <= 2);
        seen.push(...res.body.items.map((t: { id: string }) => t.id));
        next = res.body.metadata.continue;
        pages++;
      } while (next);
      assert.deepEqual(seen, all);
      assert.ok(pages >= 3);
      assert.equal((await cp.call('GET', `${G}/tokens?continue=garbage`)).status, 400);
      assert.equal((await cp.call('GET', `${G}/tokens?limit=-1`)).status, 400);
    });

    it('writes exactly one audit row per mutating call, successes, dry runs and failures alike', async () => {
      const before = (await auditRows()).length;
      await cp.call('POST', `${G}/projects`, project('audited'));
      await cp.call('POST', `${G}/projects?dryRun=All`, project('dry'));
      await cp.call('POST', `${G}/projects`, project('audited'));
      await cp.call('POST', `${G}/tokens`, { name: 'aud', scopes: ['project:read'] });
      await cp.call('POST', `${G}/tokens`, { name: 'aud2', scopes: ['nope'] });
      await cp.call('DELETE', `${G}/tokens/aud`);
      await cp.call('GET', `${G}/projects`);
      const rows = (await auditRows()).slice(before);
      assert.deepEqual(
        rows.map((r) => [r.verb, r.kind, r.name, r.dryRun, r.outcome]),
        [
          ['create', 'Project', 'audited', false, 'Success'],
          ['create', 'Project', 'dry', true, 'Success'],
          ['create', 'Project', 'audited', false, 'Failure'],
          ['create', 'Token', 'aud', false, 'Success'],
          ['create', 'Token', 'aud2', false, 'Failure'],
          ['revoke', 'Token', 'aud', false, 'Success'],
        ],
      );
      for (const r of rows) {
        assert.equal(r.actor, 'token:admin');
        assert.ok(r.tokenId, 'the token id is recorded');
      }
    });

    it('serves the audit log with since, limit and continue', async () => {
      const all = await cp.call('GET', `${G}/auditlog?limit=500`);
      assert.equal(all.status, 200);
      assert.equal(all.body.kind, 'AuditEventList');
      assert.ok(all.body.items.length >= 6);
      const item = all.body.items.find((i: { name: string; verb: string }) => i.name === 'audited');
      assert.equal(item.actor, 'token:admin');
      assert.ok(Date.parse(item.time) > 0);

      const seen: string[] = [];
      let next: string | undefined;
      do {
        const res = await cp.call('GET', `${G}/auditlog?since=1h&limit=3${next ? `&continue=${next}` : ''}`);
        seen.push(...res.body.items.map((i: { id: string }) => i.id));
        next = res.body.metadata.continue;
      } while (next);
      assert.deepEqual(seen, all.body.items.map((i: { id: string }) => i.id));

      const future = await cp.call('GET', `${G}/auditlog?since=${new Date(Date.now() + 60_000).toISOString()}`);
      assert.deepEqual(future.body.items, []);
      const byKind = await cp.call('GET', `${G}/auditlog?kind=Token&limit=500`);
      assert.ok(byKind.body.items.length > 0 && byKind.body.items.every((i: { kind: string }) => i.kind === 'Token'));
      const bad = await cp.call('GET', `${G}/auditlog?since=yesterday`);
      assert.equal(bad.status, 400);
      assert.match(bad.body.message, /invalid since "yesterday"/);
    });

    it('fails the request, and writes nothing, when the audit row cannot be written', async () => {
      const db = cp.plane.database.db;
      await db.execute(sql.raw(`create function holdfast_test_fail_audit() returns trigger language plpgsql as $$ begin raise exception 'audit log unavailable'; end $$`));
      await db.execute(sql.raw('create trigger holdfast_test_fail_audit before insert on audit_log for each row execute function holdfast_test_fail_audit()'));
      try {
        const rv = await cp.plane.store.currentResourceVersion();
        const create = await cp.call('POST', `${G}/projects`, project('unaudited'));
        assert.equal(create.status, 500, JSON.stringify(create.body));
        assert.equal(create.body.reason, 'InternalError');
        assert.doesNotMatch(create.body.message, /audit log unavailable/, 'no internal detail reaches the client');
        assert.equal((await cp.call('GET', `${G}/projects/unaudited`)).status, 404);
        const stored = await db.select().from(resources).where(sql`${resources.name} = 'unaudited'`);
        assert.equal(stored.length, 0);
        assert.deepEqual(await cp.plane.store.changesSince(rv), [], 'no watch event for a write that did not happen');

        const existing = await cp.call('GET', `${G}/projects/audited`);
        const update = await cp.call('PUT', `${G}/projects/audited`, { ...existing.body, metadata: { ...existing.body.metadata, labels: { changed: 'yes' } } });
        assert.equal(update.status, 500);
        assert.equal((await cp.call('GET', `${G}/projects/audited`)).body.metadata.labels, undefined);
        assert.equal((await cp.call('DELETE', `${G}/projects/audited`)).status, 500);
        assert.equal((await cp.call('GET', `${G}/projects/audited`)).status, 200);
        assert.equal((await cp.call('POST', `${G}/projects?dryRun=All`, project('dry-unaudited'))).status, 500);

        const token = await cp.call('POST', `${G}/tokens`, { name: 'unaudited', scopes: ['project:read'] });
        assert.equal(token.status, 500);
        assert.equal(token.body.token, undefined);
        const tokenRows = await db.select().from(apiTokens).where(sql`${apiTokens.name} = 'unaudited'`);
        assert.equal(tokenRows.length, 0);
        const revoke = await cp.call('DELETE', `${G}/tokens/page-0`);
        assert.equal(revoke.status, 500);
        const [still] = await db.select().from(apiTokens).where(sql`${apiTokens.name} = 'page-0'`);
        assert.equal(still.revokedAt, null, 'the revoke rolled back');
      } finally {
        await db.execute(sql.raw('drop trigger holdfast_test_fail_audit on audit_log'));
        await db.execute(sql.raw('drop function holdfast_test_fail_audit()'));
      }
      assert.equal((await cp.call('POST', `${G}/projects`, project('unaudited'))).status, 201, 'writes work again once audit does');
    });
  });
}
