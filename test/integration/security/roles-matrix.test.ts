// The role matrix, proven over HTTP on a running control plane (PGlite and PostgreSQL): every route
// of the route table × every built-in role, bound on the whole control plane or in one project, ×
// requests in that project, in another and cluster-wide. Any allow or deny the role tables
// (test/support/role-subjects.ts) do not predict fails the test. Access reviews (what
// `holdfast auth can-i` asks) answer the same.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROUTES, type RouteRule } from '../../../api/scopes.js';
import { KINDS, kindByPlural } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { seedRoleSubjects, type Credential } from '../../support/role-subjects.js';
import { pool } from '../../support/pool.js';

const G = '/apis/holdfast.dev/v1alpha1';

const FAMILY: Record<string, string> = {
  Project: 'project', Server: 'server', SSHKey: 'server', Service: 'service', BackupPolicy: 'backup', GitRepository: 'source', ApplySet: 'source', Secret: 'secret', Event: 'event',
  Role: 'rbac', RoleBinding: 'rbac', ClusterRoleBinding: 'rbac', ServiceAccount: 'rbac', Lease: 'lease',
};

interface Sample {
  method: string;
  path: string;
  /** 'signed': no sample carries a signature, so whatever the token the route answers 401. */
  expected: 'public' | 'authenticated' | 'signed' | string[];
  /** The project the request is confined to, for role purposes; undefined = cluster-wide. */
  project?: string;
}

function samplesFor(rule: RouteRule): Sample[] {
  const namespaces: Array<string | undefined> = rule.path.includes(':namespace') ? ['shop', 'other'] : [undefined];
  return namespaces.flatMap((ns): Sample[] => {
    const fill = (plural?: string) =>
      rule.path.replace(/:([A-Za-z]+)/g, (_m, p: string) => (p === 'plural' ? plural! : p === 'namespace' ? ns! : p === 'sub' ? 'probe' : 'authz-probe'));
    const { access } = rule;
    switch (access.kind) {
      case 'public':
      case 'authenticated':
      case 'signed':
        return [{ method: rule.method, path: fill(), expected: access.kind }];
      case 'scopes':
        return [{ method: rule.method, path: fill(), expected: [...access.anyOf], project: ns }];
      case 'resource':
        return KINDS.flatMap((k) => {
          const family = FAMILY[k.kind];
          assert.ok(family, `the test knows the scope family of ${k.kind}`);
          const path = fill(k.plural);
          const project = k.namespaced ? ns : undefined;
          if (access.lane === 'read') return [{ method: rule.method, path, expected: [`${family}:read`], project }];
          return [
            { method: rule.method, path, expected: [`${family}:write`], project },
            { method: rule.method, path: `${path}?dryRun=All`, expected: [`${family}:plan`, `${family}:write`], project },
          ];
        });
    }
  });
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`role matrix on ${driver}`, () => {
    let cp: TestControlPlane;
    let credentials: Credential[];

    before(async () => {
      cp = await startTestControlPlane(driver, { env: { HOLDFAST_AUTH_FAILURES_PER_MINUTE: '1000000' } });
      ({ credentials } = await seedRoleSubjects(cp));
    });
    after(async () => cp.stop());

    it('allows exactly what each role grants where it is bound, for every route × role × project', async () => {
      const samples = ROUTES.flatMap(samplesFor);
      const failures: string[] = [];
      const jobs = samples.flatMap((sample) => credentials.map((cred) => ({ sample, cred })));
      await pool(jobs, 6, async ({ sample, cred }) => {
        const headers: Record<string, string> = { authorization: `Bearer ${cred.token}` };
        let body: string | undefined;
        if (['POST', 'PUT', 'PATCH'].includes(sample.method)) {
          headers['content-type'] = sample.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
          body = '{}';
        }
        const res = await fetch(cp.url + sample.path, { method: sample.method, headers, body });
        await res.arrayBuffer();
        const what = `${sample.method} ${sample.path} as ${cred.label}: HTTP ${res.status}`;
        if (sample.expected === 'signed') {
          if (res.status !== 401) failures.push(`signed route answered an unsigned request: ${what} (want 401)`);
          return;
        }
        let shouldAllow: boolean;
        if (sample.expected === 'public' || sample.expected === 'authenticated') shouldAllow = true;
        else {
          const reaches = cred.reach === 'cluster' || sample.project === 'shop';
          shouldAllow = reaches && sample.expected.some((s) => cred.scopes.includes(s));
        }
        const denied = res.status === 401 || res.status === 403;
        if (shouldAllow && denied) failures.push(`unexpected deny: ${what}`);
        if (!shouldAllow && !denied) failures.push(`UNEXPECTED ALLOW: ${what}`);
        if (!shouldAllow && res.status === 401) failures.push(`wrong denial: ${what} (want 403)`);
      });
      assert.deepEqual(failures, []);
      assert.ok(samples.length * credentials.length > 5000, `walked ${samples.length} requests × ${credentials.length} credentials`);
    });

    it('answers access reviews as the matrix does (what holdfast auth can-i asks)', async () => {
      const questions: Array<{ verb: string; resource: string; namespace?: string; name?: string; scope: string }> = [
        { verb: 'get', resource: 'services', namespace: 'shop', scope: 'service:read' },
        { verb: 'list', resource: 'services', scope: 'service:read' },
        { verb: 'deploy', resource: 'services', namespace: 'shop', name: 'web', scope: 'deploy:start' },
        { verb: 'deploy', resource: 'services', namespace: 'other', scope: 'deploy:start' },
        { verb: 'plan', resource: 'secrets', namespace: 'shop', scope: 'secret:plan' },
        { verb: 'read', resource: 'secrets', namespace: 'shop', scope: 'secret:read' },
        { verb: 'logs', resource: 'services', namespace: 'shop', scope: 'logs:read' },
        { verb: 'exec', resource: 'svc', namespace: 'shop', scope: 'terminal:open' },
        { verb: 'restore', resource: 'backuppolicies', namespace: 'shop', scope: 'backup:restore' },
        { verb: 'cleanup', resource: 'servers', scope: 'server:cleanup' },
        { verb: 'exec', resource: 'servers', scope: 'terminal:open' },
        { verb: 'delete', resource: 'servers', scope: 'server:write' },
        { verb: 'write', resource: 'tokens', scope: 'token:admin' },
        { verb: 'read', resource: 'auditlog', scope: 'audit:read' },
        { verb: 'create', resource: 'rolebindings', namespace: 'shop', scope: 'rbac:write' },
      ];
      const failures: string[] = [];
      for (const cred of credentials) {
        for (const q of questions) {
          const { scope, ...attributes } = q;
          const res = await fetch(`${cp.url}${G}/selfsubjectaccessreviews`, {
            method: 'POST',
            headers: { authorization: `Bearer ${cred.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes } }),
          });
          const review = (await res.json()) as { status: { allowed: boolean; reason: string } };
          assert.equal(res.status, 201);
          const project = kindByPlural(attributes.resource)?.namespaced === false ? undefined : attributes.namespace;
          const want = (cred.reach === 'cluster' || project === 'shop') && cred.scopes.includes(scope);
          if (review.status.allowed !== want) failures.push(`${cred.label}: can-i ${q.verb} ${q.resource} -n ${q.namespace ?? '(all)'} said ${review.status.allowed} (${review.status.reason})`);
        }
      }
      assert.deepEqual(failures, []);
    });

  });
}
