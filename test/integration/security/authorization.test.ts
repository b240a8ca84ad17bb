// Deny by default, proven over HTTP on a running control plane: every route of the route table ×
// every scope (and no token, a malformed, an expired and a revoked token) is sent, and any allow the
// route's row does not grant fails the test, as does any deny it should not make. Every route express
// has registered must have a row in the table. Failed authentication is rate-limited per client.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Express } from 'express';
import { Admission } from '../../../controllers/admission.js';
import { createApp } from '../../../api/app.js';
import { ROUTES, type RouteRule } from '../../../api/scopes.js';
import { ALL_SCOPES } from '../../../security/scopes.js';
import { KINDS } from '../../../core/resource.js';
import { silentLogger } from '../../../observability/logger.js';
import { FailedAuthLimiter } from '../../../security/failed-auth-limiter.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { pool } from '../../support/pool.js';

// The scope family of each kind, restated here rather than imported, so the test checks the table.
const FAMILY: Record<string, string> = {
  Project: 'project', Server: 'server', SSHKey: 'server', Service: 'service', BackupPolicy: 'backup', GitRepository: 'source', ApplySet: 'source', Secret: 'secret', Event: 'event',
  Role: 'rbac', RoleBinding: 'rbac', ClusterRoleBinding: 'rbac', ServiceAccount: 'rbac', Lease: 'lease',
};
const SAMPLE_PARAM: Record<string, string> = { namespace: 'shop', name: 'authz-probe', id: 'authz-probe', sub: 'probe' };

interface Sample {
  method: string;
  path: string;
  /** 'public', 'authenticated', 'signed' (no sample carries a signature: always 401), or the scopes of which one is needed. */
  expected: 'public' | 'authenticated' | 'signed' | string[];
}

/** Concrete requests for a row: every kind for `:plural`, with and without a dry run for writes. */
function samplesFor(rule: RouteRule): Sample[] {
  const fill = (plural?: string) =>
    rule.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => (name === 'plural' ? plural! : SAMPLE_PARAM[name] ?? 'probe'));
  const { access } = rule;
  switch (access.kind) {
    case 'public':
    case 'authenticated':
    case 'signed':
      return [{ method: rule.method, path: fill(), expected: access.kind }];
    case 'scopes':
      return [{ method: rule.method, path: fill(), expected: [...access.anyOf] }];
    case 'resource':
      return KINDS.flatMap((k) => {
        const family = FAMILY[k.kind];
        assert.ok(family, `the test knows the scope family of ${k.kind}`);
        const path = fill(k.plural);
        if (access.lane === 'read') return [{ method: rule.method, path, expected: [`${family}:read`] }];
        return [
          { method: rule.method, path, expected: [`${family}:write`] },
          { method: rule.method, path: `${path}?dryRun=All`, expected: [`${family}:plan`, `${family}:write`] },
        ];
      });
  }
}

interface Credential {
  label: string;
  token?: string;
  /** The scopes it holds when valid; undefined for credentials that must not authenticate. */
  scopes?: string[];
}

/** express' registered routes: [path, methods] with 'all' for app.all / router.all. */
function registeredRoutes(app: Express): Array<{ path: string; methods: string[] }> {
  const out: Array<{ path: string; methods: string[] }> = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const methods = Object.keys(layer.route.methods).map((m) => (m === '_all' ? 'all' : m.toUpperCase()));
        for (const path of [layer.route.path].flat()) out.push({ path, methods });
      } else if (Array.isArray(layer.handle?.stack)) {
        // Routers are mounted at the root; a mount path would have to prefix every row.
        assert.ok(layer.slash, `a router is mounted at a path (${String(layer.rawPath)}): the route table cannot see it`);
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: any[] } }).router.stack);
  return out;
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`authorization on ${driver}`, () => {
    let cp: TestControlPlane;
    const credentials: Credential[] = [];

    before(async () => {
      cp = await startTestControlPlane(driver, { env: { HOLDFAST_AUTH_FAILURES_PER_MINUTE: '1000000' } });
      const project = await cp.call('POST', '/apis/holdfast.dev/v1alpha1/projects', { kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } });
      assert.equal(project.status, 201, JSON.stringify(project.body));
      const tokens = cp.plane.tokens;
      credentials.push({ label: 'no token' });
      credentials.push({ label: 'unknown token', token: 'hft_' + 'x'.repeat(40) });
      credentials.push({ label: 'not a token', token: 'Basic-abc' });
      credentials.push({ label: 'expired token', token: (await tokens.create('expired', ['*'], new Date(Date.now() - 1000))).token });
      const revoked = await tokens.create('revoked', ['*']);
      assert.ok((await tokens.revoke(revoked.info.id)).revokedAt);
      credentials.push({ label: 'revoked token', token: revoked.token });
      credentials.push({ label: 'scope *', token: (await tokens.create('star', ['*'])).token, scopes: ['*'] });
      credentials.push({ label: 'no scopes', token: (await tokens.create('none', [])).token, scopes: [] });
      for (const scope of ALL_SCOPES) {
        credentials.push({ label: `scope ${scope}`, token: (await tokens.create(scope.replace(':', '-'), [scope])).token, scopes: [scope] });
      }
    });
    after(async () => cp.stop());

    it('has a table row for every route express serves', () => {
      const app = cp.plane.http.listeners('request')[0] as Express;
      const routes = registeredRoutes(app);
      assert.ok(routes.length > 10, 'routes were found');
      const missing: string[] = [];
      for (const { path, methods } of routes) {
        const rows = ROUTES.filter((r) => r.path === path);
        if (methods.includes('all')) {
          if (rows.length === 0) missing.push(`ALL ${path}`);
          continue;
        }
        for (const m of methods) if (!rows.some((r) => r.method === m)) missing.push(`${m} ${path}`);
      }
      assert.deepEqual(missing, [], 'routes without a row in api/scopes.ts ROUTES');
    });

    it('allows exactly what each row grants, for every route × every credential', async () => {
      const samples = ROUTES.flatMap(samplesFor);
      const failures: string[] = [];
      const jobs = samples.flatMap((sample) => credentials.map((cred) => ({ sample, cred })));
      await pool(jobs, 6, async ({ sample, cred }) => {
        const headers: Record<string, string> = {};
        if (cred.token) headers.authorization = `Bearer ${cred.token}`;
        let body: string | undefined;
        if (['POST', 'PUT', 'PATCH'].includes(sample.method)) {
          headers['content-type'] = sample.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
          body = '{}';
        }
        const res = await fetch(cp.url + sample.path, { method: sample.method, headers, body });
        await res.arrayBuffer();
        const denied = res.status === 401 || res.status === 403;
        if (sample.expected === 'signed') {
          // Whatever the token, an unsigned request is refused by the route's own check.
          if (res.status !== 401) failures.push(`signed route answered an unsigned request: ${sample.method} ${sample.path} with ${cred.label}: HTTP ${res.status} (want 401)`);
          return;
        }
        let shouldAllow: boolean;
        if (sample.expected === 'public') shouldAllow = true;
        else if (!cred.scopes) shouldAllow = false;
        else if (sample.expected === 'authenticated') shouldAllow = true;
        else shouldAllow = cred.scopes.includes('*') || sample.expected.some((s) => cred.scopes!.includes(s));
        const what = `${sample.method} ${sample.path} with ${cred.label}: HTTP ${res.status}`;
        if (shouldAllow && denied) failures.push(`unexpected deny: ${what}`);
        if (!shouldAllow && !denied) failures.push(`UNEXPECTED ALLOW: ${what}`);
        if (!shouldAllow && denied) {
          // Invalid credentials are 401; valid ones without the scope are 403.
          const want = cred.scopes ? 403 : 401;
          if (res.status !== want) failures.push(`wrong denial: ${what} (want ${want})`);
        }
      });
      assert.deepEqual(failures, []);
      assert.ok(samples.length * credentials.length > 5000, `walked ${samples.length} requests × ${credentials.length} credentials`);
    });

    it('limits failed authentication per client with 429 and Retry-After, and leaves valid tokens alone', async () => {
      const app = createApp({
        store: cp.plane.store,
        admission: new Admission(cp.plane.store, cp.plane.sealer),
        tokens: cp.plane.tokens,
        log: silentLogger,
        version: 'test',
        ready: async () => true,
        redactor: cp.plane.redactor,
        authLimiter: new FailedAuthLimiter({ maxFailures: 10, windowMs: 60_000 }),
      });
      const server = createServer(app);
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis`;
      try {
        const bad = { authorization: 'Bearer hft_wrong' };
        for (let i = 0; i < 10; i++) assert.equal((await fetch(url, { headers: bad })).status, 401, `failure ${i + 1} is a plain 401`);
        const limited = await fetch(url, { headers: bad });
        assert.equal(limited.status, 429);
        const retryAfter = Number(limited.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
        const status = await limited.json();
        assert.equal(status.kind, 'Status');
        assert.equal(status.reason, 'TooManyRequests');
        assert.equal((await fetch(url)).status, 429, 'no token at all is limited too');
        const ok = await fetch(url, { headers: { authorization: `Bearer ${cp.token}` } });
        assert.equal(ok.status, 200, 'a valid token from the same client is not limited');
        assert.equal((await fetch(url.replace('/apis', '/healthz'))).status, 200, 'health probes need no token and are not limited');
      } finally {
        await new Promise((ok) => server.close(ok));
      }
    });
  });
}
