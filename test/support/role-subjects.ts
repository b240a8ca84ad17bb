// Subjects for the role tests: in projects shop and other, a user per built-in role bound cluster-wide
// and one bound in shop, a service account of shop whose token is narrowed below its role, and a
// user without any binding; each with a token, and the scopes its roles should allow, and where.
import assert from 'node:assert/strict';
import { ALL_SCOPES } from '../../security/scopes.js';
import type { TestControlPlane } from './control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';

// What each built-in role allows, in token scopes, restated here so the test checks core/authz.
const VIEWER = ['project:read', 'service:read', 'deploy:read', 'server:read', 'backup:read', 'source:read', 'event:read', 'rbac:read', 'lease:read', 'metrics:read'];
const PLANNER = [...VIEWER, 'project:plan', 'service:plan', 'server:plan', 'backup:plan', 'source:plan', 'secret:plan'];
const DEPLOYER = [...PLANNER, 'service:write', 'deploy:start', 'deploy:rollback', 'deploy:cancel', 'backup:write', 'backup:run'];
const OPERATOR = [...DEPLOYER, 'logs:read', 'terminal:open', 'server:cleanup', 'server:drain', 'backup:restore'];
export const ROLE_SCOPES: Record<string, readonly string[]> = { viewer: VIEWER, planner: PLANNER, deployer: DEPLOYER, operator: OPERATOR, admin: ALL_SCOPES };

export interface Credential {
  label: string;
  token: string;
  /** Scopes its roles allow, and where: everywhere, or in project shop only. */
  scopes: readonly string[];
  reach: 'cluster' | 'shop';
}

export const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, role: string, subjects: unknown[], namespace?: string) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { roleRef: { kind: 'Role', name: role }, subjects },
});

/** Creates the projects, bindings and tokens; `tokenOf` is keyed by user name (`viewer-cluster`, `operator-shop`, …). */
export async function seedRoleSubjects(cp: TestControlPlane): Promise<{ credentials: Credential[]; tokenOf: Record<string, string> }> {
  const credentials: Credential[] = [];
  const tokenOf: Record<string, string> = {};
  for (const name of ['shop', 'other']) {
    const project = await cp.call('POST', `${G}/projects`, { kind: 'Project', metadata: { name }, spec: { environments: [{ name: 'production' }] } });
    assert.equal(project.status, 201, JSON.stringify(project.body));
  }
  const tokens = cp.plane.tokens;
  for (const role of Object.keys(ROLE_SCOPES)) {
    for (const reach of ['cluster', 'shop'] as const) {
      const user = `${role}-${reach}`;
      const b =
        reach === 'cluster'
          ? binding('ClusterRoleBinding', user, role, [{ kind: 'User', name: user }])
          : binding('RoleBinding', user, role, [{ kind: 'User', name: user }], 'shop');
      const path = reach === 'cluster' ? `${G}/clusterrolebindings` : `${G}/namespaces/shop/rolebindings`;
      const created = await cp.call('POST', path, b);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { token } = await tokens.create(user, ['*'], undefined, undefined, `user:${user}`);
      tokenOf[user] = token;
      credentials.push({ label: `${role} bound ${reach === 'cluster' ? 'cluster-wide' : 'in shop'}`, token, scopes: ROLE_SCOPES[role], reach });
    }
  }
  // A service account whose token is narrowed below its role.
  assert.equal((await cp.call('POST', `${G}/namespaces/shop/serviceaccounts`, { kind: 'ServiceAccount', metadata: { name: 'ci' }, spec: {} })).status, 201);
  assert.equal((await cp.call('POST', `${G}/namespaces/shop/rolebindings`, binding('RoleBinding', 'ci', 'deployer', [{ kind: 'ServiceAccount', name: 'ci' }], 'shop'))).status, 201);
  const narrowed = ['service:read', 'deploy:start', 'secret:read'];
  credentials.push({
    label: 'service account shop:ci (deployer) narrowed to service:read,deploy:start,secret:read',
    token: (await tokens.create('ci', narrowed, undefined, undefined, 'serviceaccount:shop:ci')).token,
    scopes: narrowed.filter((s) => DEPLOYER.includes(s)),
    reach: 'shop',
  });
  credentials.push({ label: 'a user without any binding', token: (await tokens.create('nobody', ['*'], undefined, undefined, 'user:nobody')).token, scopes: [], reach: 'cluster' });
  return { credentials, tokenOf };
}
