// Roles on a running control plane (PGlite and PostgreSQL), beyond the matrix (roles-matrix.test.ts):
// terminal WebSocket upgrades decided by the same roles; access reviews about another subject; a
// binding to a missing role is refused; a custom Role's named objects; audit rows name the subject.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { WebSocket } from 'ws';
import { bearerProtocol, CHANNEL_PROTOCOL_V5 } from '../../../core/terminal/channel-protocol.js';
import { auditLog } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { binding, seedRoleSubjects } from '../../support/role-subjects.js';

const G = '/apis/holdfast.dev/v1alpha1';

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`roles on ${driver}`, () => {
    let cp: TestControlPlane;
    let tokenOf: Record<string, string>;

    before(async () => {
      cp = await startTestControlPlane(driver, { env: { HOLDFAST_AUTH_FAILURES_PER_MINUTE: '1000000' } });
      ({ tokenOf } = await seedRoleSubjects(cp));
    });
    after(async () => cp.stop());

    it('decides a terminal WebSocket upgrade by the same roles', async () => {
      // The HTTP status the upgrade answers, or 101 when the socket opened.
      const upgrade = (path: string, token: string) =>
        new Promise<number>((ok, fail) => {
          const ws = new WebSocket(`${cp.url.replace(/^http/, 'ws')}${G}${path}`, [CHANNEL_PROTOCOL_V5, bearerProtocol(token)]);
          ws.once('open', () => {
            ws.terminate();
            ok(101);
          });
          ws.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
          ws.once('error', fail);
        });
      const exec = '/namespaces/shop/services/authz-probe/exec?command=true';
      const shell = '/servers/authz-probe/shell';
      const answers = {
        viewerExec: await upgrade(exec, tokenOf['viewer-cluster']),
        deployerExec: await upgrade(exec, tokenOf['deployer-shop']),
        operatorExec: await upgrade(exec, tokenOf['operator-shop']),
        operatorExecOtherProject: await upgrade(exec.replace('/shop/', '/other/'), tokenOf['operator-shop']),
        projectOperatorShell: await upgrade(shell, tokenOf['operator-shop']),
        clusterOperatorShell: await upgrade(shell, tokenOf['operator-cluster']),
      };
      // Past the decision the upgrade looks the target up: there is none, so 404.
      assert.deepEqual(answers, {
        viewerExec: 403,
        deployerExec: 403,
        operatorExec: 404,
        operatorExecOtherProject: 403,
        projectOperatorShell: 403,
        clusterOperatorShell: 404,
      });
    });

    it('answers for another subject only to those who may read bindings, and says why a subject has nothing', async () => {
      const ask = (token: string, user: string) =>
        cp.call('POST', `${G}/subjectaccessreviews`, { spec: { user, resourceAttributes: { verb: 'deploy', resource: 'services', namespace: 'shop' } } }, { authorization: `Bearer ${token}` });
      const asAdmin = await ask(cp.token, 'user:deployer-shop');
      assert.equal(asAdmin.status, 201, JSON.stringify(asAdmin.body));
      assert.equal(asAdmin.body.status.allowed, true);
      const nobody = await ask(cp.token, 'nobody');
      assert.equal(nobody.body.status.allowed, false);
      assert.match(nobody.body.status.reason, /user:nobody has no role binding/);
      assert.equal((await ask(tokenOf['viewer-cluster'], 'user:admin-cluster')).body.status.allowed, true, 'a viewer reads bindings');
      const refused = await ask(tokenOf['viewer-shop'], 'user:admin-cluster');
      assert.equal(refused.status, 403, 'a project viewer cannot read cluster bindings');
      const bad = await ask(cp.token, 'group:web');
      assert.equal(bad.status, 400);
      assert.match(bad.body.message, /spec\.user must name a subject/);
      const badVerb = await cp.call('POST', `${G}/selfsubjectaccessreviews`, { spec: { resourceAttributes: { verb: 'fly', resource: 'planes' } } });
      assert.equal(badVerb.status, 422);
      assert.deepEqual(badVerb.body.details.causes.map((c: { field: string }) => c.field), ['spec.resourceAttributes.verb', 'spec.resourceAttributes.resource']);
    });

    it('refuses a binding to a role that does not exist, a Role named like a built-in one, and a cluster binding of a service account without its project', async () => {
      const missing = await cp.call('POST', `${G}/namespaces/shop/rolebindings`, binding('RoleBinding', 'typo', 'deployr', [{ kind: 'User', name: 'alice' }]));
      assert.equal(missing.status, 422, JSON.stringify(missing.body));
      assert.equal(missing.body.reason, 'Invalid');
      assert.match(missing.body.message, /role "deployr" does not exist: use a built-in role \(viewer, planner, deployer, operator, admin\) or create Role "deployr" first/);
      assert.deepEqual(missing.body.details.causes.map((c: { field: string }) => c.field), ['spec.roleRef.name']);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/rolebindings/typo`)).status, 404, 'nothing was stored');

      const reserved = await cp.call('POST', `${G}/roles`, { kind: 'Role', metadata: { name: 'admin' }, spec: { rules: [] } });
      assert.equal(reserved.status, 422);
      assert.match(reserved.body.message, /"admin" is a built-in role/);

      const sa = await cp.call('POST', `${G}/clusterrolebindings`, binding('ClusterRoleBinding', 'sa', 'viewer', [{ kind: 'ServiceAccount', name: 'ci' }]));
      assert.equal(sa.status, 422);
      assert.deepEqual(sa.body.details.causes.map((c: { field: string }) => c.field), ['spec.subjects[0].namespace']);

      const badRule = await cp.call('POST', `${G}/roles`, { kind: 'Role', metadata: { name: 'odd' }, spec: { rules: [{ verbs: ['fly'], resources: ['services'] }] } });
      assert.equal(badRule.status, 400);
      assert.match(JSON.stringify(badRule.body.details.causes), /spec\.rules\[0\]\.verbs\[0\]/);
    });

    it('grants what a custom Role names, on the named objects only, and stops when the binding goes', async () => {
      const role = await cp.call('POST', `${G}/roles`, {
        kind: 'Role',
        metadata: { name: 'web-reader' },
        spec: { rules: [{ verbs: ['read'], resources: ['services'], resourceNames: ['web'] }] },
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/rolebindings`, binding('RoleBinding', 'carol', 'web-reader', [{ kind: 'User', name: 'carol' }]))).status, 201);
      const { token } = await cp.plane.tokens.create('carol', ['*'], undefined, undefined, 'user:carol');
      const as = { authorization: `Bearer ${token}` };
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/services/web`, undefined, as)).status, 404, 'allowed (and there is no such service)');
      const other = await cp.call('GET', `${G}/namespaces/shop/services/db`, undefined, as);
      assert.equal(other.status, 403);
      assert.match(other.body.message, /forbidden: user:carol cannot GET .*services\/db \(no role bound to user:carol allows read services\/db in project "shop"\)/);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/services`, undefined, as)).status, 403, 'a rule naming objects does not allow a list');
      assert.equal((await cp.call('DELETE', `${G}/namespaces/shop/rolebindings/carol`)).status, 200);
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/services/web`, undefined, as)).status, 403, 'the next request after the binding is gone');
    });

    it('names the subject and the token in audit rows', async () => {
      const created = await cp.call('POST', `${G}/namespaces/shop/serviceaccounts`, { kind: 'ServiceAccount', metadata: { name: 'audited' } }, { authorization: `Bearer ${tokenOf['admin-shop']}` });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const rows = await cp.plane.database.db.select().from(auditLog).where(eq(auditLog.name, 'audited'));
      assert.equal(rows.length, 1);
      assert.equal(rows[0].actor, 'user:admin-shop');
      const [token] = (await cp.plane.tokens.list()).items.filter((t) => t.name === 'admin-shop');
      assert.equal(rows[0].tokenId, token.id);
      assert.equal(token.subject, 'user:admin-shop');
    });
  });
}
