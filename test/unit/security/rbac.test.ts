// The pure role decision: subjects, the built-in roles, bindings' reach, narrowed tokens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_SCOPES } from '../../../security/scopes.js';
import {
  BUILT_IN_ROLES,
  decide,
  formatSubject,
  normaliseVerb,
  parseSubject,
  ruleAllows,
  SCOPE_PERMISSIONS,
  scopesFor,
  type AccessRequest,
  type Binding,
  type Subject,
} from '../../../core/authz/rbac.js';
import type { RoleRule } from '../../../core/schema/types.generated.js';

const alice: Subject = { kind: 'User', name: 'alice', groups: ['web-team'] };
const ci: Subject = { kind: 'ServiceAccount', namespace: 'shop', name: 'ci' };

const binding = (name: string, role: string, subjects: Binding['spec']['subjects'], namespace?: string): Binding => ({
  name,
  ...(namespace ? { namespace } : {}),
  spec: { roleRef: { kind: 'Role', name: role }, subjects },
});

const custom: Record<string, RoleRule[]> = {
  'web-deployer': [{ verbs: ['deploy'], resources: ['services'], resourceNames: ['web'] }],
};
const roles = (name: string) => BUILT_IN_ROLES[name] ?? custom[name];

describe('subjects', () => {
  const cases: Array<[string, Subject | undefined]> = [
    ['user:alice', { kind: 'User', name: 'alice' }],
    ['user:alice@example.com', { kind: 'User', name: 'alice@example.com' }],
    ['serviceaccount:shop:ci', { kind: 'ServiceAccount', namespace: 'shop', name: 'ci' }],
    ['serviceaccount:shop', undefined],
    ['serviceaccount:shop:ci:x', undefined],
    ['serviceaccount:Shop:ci', undefined],
    ['user:', undefined],
    ['alice', undefined],
    ['token:admin', undefined],
  ];
  for (const [text, want] of cases) {
    it(`parses ${JSON.stringify(text)}`, () => {
      const got = parseSubject(text);
      assert.deepEqual(got, want);
      if (got) assert.equal(formatSubject(got), text);
    });
  }
});

describe('scopes in role terms', () => {
  it('gives every token scope a verb on resources', () => {
    for (const scope of ALL_SCOPES) assert.ok(SCOPE_PERMISSIONS[scope], `${scope} has a permission`);
    assert.deepEqual(Object.keys(SCOPE_PERMISSIONS).sort(), [...ALL_SCOPES].sort());
  });

  const cases: Array<[string, string, string[]]> = [
    ['read', 'services', ['service:read']],
    ['plan', 'services', ['service:plan', 'service:write']],
    ['deploy', 'services', ['deploy:start']],
    ['read', 'sshkeys', ['server:read']],
    ['exec', 'services', ['terminal:open']],
    ['read', 'deployments', ['deploy:read']],
    ['write', 'rolebindings', ['rbac:write']],
    ['deploy', 'secrets', []],
  ];
  for (const [verb, resource, want] of cases) {
    it(`${verb} ${resource} → ${want.join(',') || 'nothing'}`, () => assert.deepEqual(scopesFor(normaliseVerb(verb)!, resource), want));
  }

  it("reads kubectl's verbs in Holdfast's terms", () => {
    assert.equal(normaliseVerb('get'), 'read');
    assert.equal(normaliseVerb('DELETE'), 'write');
    assert.equal(normaliseVerb('sync'), 'deploy');
    assert.equal(normaliseVerb('escalate'), undefined);
  });
});

describe('built-in roles', () => {
  const order = ['viewer', 'planner', 'deployer', 'operator', 'admin'];
  const allows = (role: string, scope: string) => {
    const p = SCOPE_PERMISSIONS[scope];
    return BUILT_IN_ROLES[role].some((rule) => ruleAllows(rule, p.verb, p.resources));
  };
  it('each allows everything the one before it allows, and more', () => {
    for (let i = 1; i < order.length; i++) {
      const before = ALL_SCOPES.filter((s) => allows(order[i - 1], s));
      const now = ALL_SCOPES.filter((s) => allows(order[i], s));
      for (const s of before) assert.ok(now.includes(s), `${order[i]} keeps ${s} of ${order[i - 1]}`);
      assert.ok(now.length > before.length, `${order[i]} adds to ${order[i - 1]}`);
    }
  });

  const table: Array<[string, string[], string[]]> = [
    ['viewer', ['service:read', 'server:read', 'deploy:read', 'event:read', 'rbac:read'], ['secret:read', 'service:plan', 'service:write', 'token:admin', 'audit:read', 'logs:read']],
    ['planner', ['service:plan', 'secret:plan', 'server:plan'], ['service:write', 'deploy:start', 'secret:read', 'rbac:plan']],
    ['deployer', ['service:write', 'deploy:start', 'deploy:rollback', 'deploy:cancel', 'backup:run', 'backup:write'], ['logs:read', 'terminal:open', 'backup:restore', 'server:write', 'secret:write']],
    ['operator', ['logs:read', 'terminal:open', 'backup:restore'], ['server:write', 'secret:read', 'secret:write', 'token:admin', 'rbac:write']],
    ['admin', [...ALL_SCOPES], []],
  ];
  for (const [role, yes, no] of table) {
    it(`${role}: allows ${yes.length}, refuses ${no.length}`, () => {
      for (const s of yes) assert.ok(allows(role, s), `${role} allows ${s}`);
      for (const s of no) assert.ok(!allows(role, s), `${role} refuses ${s}`);
    });
  }
});

describe('decide', () => {
  const bindings: Binding[] = [
    binding('web-team-deployers', 'deployer', [{ kind: 'Group', name: 'web-team' }], 'shop'),
    binding('ci', 'web-deployer', [{ kind: 'ServiceAccount', name: 'ci' }], 'shop'),
    binding('ci-elsewhere', 'admin', [{ kind: 'ServiceAccount', name: 'ci', namespace: 'other' }], 'shop'),
    binding('everyone-views', 'viewer', [{ kind: 'User', name: 'alice' }]),
    binding('missing', 'no-such-role', [{ kind: 'User', name: 'alice' }]),
  ];
  const deployWeb: AccessRequest = { anyOf: ['deploy:start'], namespace: 'shop', name: 'web' };
  const cases: Array<{ name: string; subject: Subject; scopes?: string[]; request: AccessRequest; allowed: boolean; reason?: RegExp }> = [
    { name: 'a group binding in the project', subject: alice, request: deployWeb, allowed: true, reason: /RoleBinding "shop\/web-team-deployers"/ },
    { name: 'not in another project', subject: alice, request: { ...deployWeb, namespace: 'other' }, allowed: false, reason: /no role bound to user:alice allows deploy services\/web in project "other"/ },
    { name: 'a cluster binding reaches every project', subject: alice, request: { anyOf: ['service:read'], resource: 'services', namespace: 'other' }, allowed: true },
    { name: 'a cluster binding reaches cluster resources', subject: alice, request: { anyOf: ['server:read'], resource: 'servers' }, allowed: true },
    { name: 'a project binding does not reach cluster resources', subject: alice, request: { anyOf: ['service:write'], resource: 'services' }, allowed: false },
    { name: 'a user without the group', subject: { kind: 'User', name: 'alice' }, request: deployWeb, allowed: false },
    { name: 'a named object', subject: ci, request: deployWeb, allowed: true },
    { name: 'not another name', subject: ci, request: { ...deployWeb, name: 'db' }, allowed: false },
    { name: 'not a list, when the rule names objects', subject: ci, request: { anyOf: ['deploy:start'], namespace: 'shop' }, allowed: false },
    { name: 'a service account of another project is another subject', subject: { kind: 'ServiceAccount', namespace: 'other', name: 'ci' }, request: { anyOf: ['secret:write'], namespace: 'shop' }, allowed: true },
    { name: 'nor the other way round', subject: ci, request: { anyOf: ['secret:write'], namespace: 'shop' }, allowed: false },
    { name: 'a narrowed token keeps within its scopes', subject: alice, scopes: ['service:read'], request: deployWeb, allowed: false, reason: /narrowed to scopes service:read/ },
    { name: 'a narrowed token within them', subject: alice, scopes: ['deploy:start'], request: deployWeb, allowed: true },
    { name: 'scopes never add to the roles', subject: alice, scopes: ['*'], request: { anyOf: ['secret:read'], namespace: 'shop', resource: 'secrets' }, allowed: false },
    { name: 'a dry run needs plan or write', subject: alice, request: { anyOf: ['secret:plan', 'secret:write'], namespace: 'shop', resource: 'secrets' }, allowed: true },
    { name: 'a subject without any binding', subject: { kind: 'User', name: 'bob' }, request: { anyOf: ['service:read'], namespace: 'shop' }, allowed: false, reason: /user:bob has no role binding/ },
    { name: 'a route with no scope', subject: alice, request: { anyOf: [] }, allowed: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decide({ subject: c.subject, tokenScopes: c.scopes ?? ['*'], bindings, roles, request: c.request });
      assert.equal(d.allowed, c.allowed, d.reason);
      if (c.reason) assert.match(d.reason, c.reason);
    });
  }
});
