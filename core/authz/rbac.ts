// Role-based access, pure: who a subject is, what the built-in roles allow, and the decision for one
// request. A request is described by the scopes the route table asks for (any one suffices); each
// scope stands for one verb on one family of resources, so roles and token scopes judge the same
// request in the same terms. A subject's token may be narrowed by scopes: then a request needs both
// a role that allows it and a scope that allows it.
import type { RoleBindingSpec, RoleRule } from '../schema/types.generated.js';

export type Verb = RoleRule['verbs'][number];
export type RbacResource = RoleRule['resources'][number];

export const VERBS: readonly Verb[] = ['read', 'plan', 'write', 'deploy', 'rollback', 'cancel', 'run', 'restore', 'logs', 'exec', 'cleanup', 'drain', 'rotate'];

/** A signed-in user (with the groups single sign-on reported) or a service account of a project. */
export type Subject =
  | { kind: 'User'; name: string; groups?: readonly string[] }
  | { kind: 'ServiceAccount'; namespace: string; name: string };

const SERVICE_ACCOUNT_PREFIX = 'serviceaccount:';
const USER_PREFIX = 'user:';

/** `user:alice` or `serviceaccount:shop:ci`: how tokens, audit rows and `--as` name a subject. */
export function formatSubject(s: Subject): string {
  return s.kind === 'User' ? `${USER_PREFIX}${s.name}` : `${SERVICE_ACCOUNT_PREFIX}${s.namespace}:${s.name}`;
}

/** The subject a `user:NAME` or `serviceaccount:PROJECT:NAME` string names, or undefined. */
export function parseSubject(text: string): Subject | undefined {
  if (text.startsWith(USER_PREFIX)) {
    const name = text.slice(USER_PREFIX.length);
    return /^[a-z0-9]([-a-z0-9._@]*[a-z0-9])?$/.test(name) && name.length <= 253 ? { kind: 'User', name } : undefined;
  }
  if (text.startsWith(SERVICE_ACCOUNT_PREFIX)) {
    const [namespace, name, ...rest] = text.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
    const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
    if (rest.length || !label.test(namespace ?? '') || !label.test(name ?? '')) return undefined;
    return { kind: 'ServiceAccount', namespace, name };
  }
  return undefined;
}

/** What each token scope stands for in role terms: one verb on a family of resources. */
export const SCOPE_PERMISSIONS: Record<string, { verb: Verb; resources: readonly RbacResource[] }> = {
  'project:read': { verb: 'read', resources: ['projects'] },
  'project:plan': { verb: 'plan', resources: ['projects'] },
  'project:write': { verb: 'write', resources: ['projects'] },
  'service:read': { verb: 'read', resources: ['services'] },
  'service:plan': { verb: 'plan', resources: ['services'] },
  'service:write': { verb: 'write', resources: ['services'] },
  'deploy:read': { verb: 'read', resources: ['deployments'] },
  'deploy:start': { verb: 'deploy', resources: ['services'] },
  'deploy:cancel': { verb: 'cancel', resources: ['services'] },
  'deploy:rollback': { verb: 'rollback', resources: ['services'] },
  'server:read': { verb: 'read', resources: ['servers', 'sshkeys'] },
  'server:plan': { verb: 'plan', resources: ['servers', 'sshkeys'] },
  'server:write': { verb: 'write', resources: ['servers', 'sshkeys'] },
  'server:cleanup': { verb: 'cleanup', resources: ['servers'] },
  'server:drain': { verb: 'drain', resources: ['servers'] },
  'backup:read': { verb: 'read', resources: ['backuppolicies'] },
  'backup:plan': { verb: 'plan', resources: ['backuppolicies'] },
  'backup:write': { verb: 'write', resources: ['backuppolicies'] },
  'backup:run': { verb: 'run', resources: ['backuppolicies'] },
  'backup:restore': { verb: 'restore', resources: ['backuppolicies'] },
  'source:read': { verb: 'read', resources: ['gitrepositories'] },
  'source:plan': { verb: 'plan', resources: ['gitrepositories'] },
  'source:write': { verb: 'write', resources: ['gitrepositories'] },
  'secret:read': { verb: 'read', resources: ['secrets'] },
  'secret:plan': { verb: 'plan', resources: ['secrets'] },
  'secret:write': { verb: 'write', resources: ['secrets'] },
  'secret:rotate': { verb: 'rotate', resources: ['secrets'] },
  'event:read': { verb: 'read', resources: ['events'] },
  'rbac:read': { verb: 'read', resources: ['roles', 'rolebindings', 'clusterrolebindings', 'serviceaccounts'] },
  'rbac:plan': { verb: 'plan', resources: ['roles', 'rolebindings', 'clusterrolebindings', 'serviceaccounts'] },
  'rbac:write': { verb: 'write', resources: ['roles', 'rolebindings', 'clusterrolebindings', 'serviceaccounts'] },
  'lease:read': { verb: 'read', resources: ['leases'] },
  'lease:plan': { verb: 'plan', resources: ['leases'] },
  'lease:write': { verb: 'write', resources: ['leases'] },
  'token:admin': { verb: 'write', resources: ['tokens'] },
  'user:admin': { verb: 'write', resources: ['users'] },
  'audit:read': { verb: 'read', resources: ['auditlog'] },
  'metrics:read': { verb: 'read', resources: ['metrics'] },
  'logs:read': { verb: 'logs', resources: ['services'] },
  'terminal:open': { verb: 'exec', resources: ['services', 'servers'] },
};

const VIEWABLE: RbacResource[] = [
  'projects', 'servers', 'sshkeys', 'services', 'backuppolicies', 'gitrepositories', 'events', 'deployments',
  'roles', 'rolebindings', 'clusterrolebindings', 'serviceaccounts', 'leases', 'metrics',
];
const PLANNABLE: RbacResource[] = ['projects', 'servers', 'sshkeys', 'services', 'backuppolicies', 'gitrepositories', 'secrets'];

/**
 * The built-in roles, each the one before it plus more. The viewer reads no Secret (not even its
 * key names); writing Services and BackupPolicies is part of deploying.
 */
export const BUILT_IN_ROLES: Readonly<Record<string, readonly RoleRule[]>> = (() => {
  const viewer: RoleRule[] = [{ verbs: ['read'], resources: VIEWABLE }];
  const planner: RoleRule[] = [...viewer, { verbs: ['plan'], resources: PLANNABLE }];
  const deployer: RoleRule[] = [
    ...planner,
    { verbs: ['write', 'deploy', 'rollback', 'cancel'], resources: ['services'] },
    { verbs: ['write', 'run'], resources: ['backuppolicies'] },
  ];
  const operator: RoleRule[] = [
    ...deployer,
    { verbs: ['logs', 'exec'], resources: ['services'] },
    { verbs: ['exec', 'cleanup', 'drain'], resources: ['servers'] },
    { verbs: ['restore'], resources: ['backuppolicies'] },
  ];
  const admin: RoleRule[] = [{ verbs: ['*'], resources: ['*'] }];
  return { viewer, planner, deployer, operator, admin };
})();

export const BUILT_IN_ROLE_NAMES = Object.keys(BUILT_IN_ROLES);

/** A RoleBinding (namespace = its project) or a ClusterRoleBinding (no namespace). */
export interface Binding {
  name: string;
  namespace?: string;
  spec: RoleBindingSpec;
}

export function bindingNames(binding: Binding, subject: Subject): boolean {
  return binding.spec.subjects.some((s) => {
    if (subject.kind === 'User') {
      return (s.kind === 'User' && s.name === subject.name) || (s.kind === 'Group' && (subject.groups ?? []).includes(s.name));
    }
    return s.kind === 'ServiceAccount' && s.name === subject.name && (s.namespace ?? binding.namespace) === subject.namespace;
  });
}

/** What one request is about, in role terms. */
export interface AccessRequest {
  /** The scopes the route table asks for; any one suffices. */
  anyOf: readonly string[];
  /** The resource named by the path (`services` in …/services/web), when the route names one. */
  resource?: string;
  /** The project the request is confined to; absent for cluster-wide requests (lists across projects, servers). */
  namespace?: string;
  /** The object's name, when the request is about one object. */
  name?: string;
}

export interface AccessDecision {
  allowed: boolean;
  /** Why, in words a user can act on. */
  reason: string;
}

export function ruleAllows(rule: RoleRule, verb: Verb, resources: readonly string[], name?: string): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(verb)) return false;
  if (!rule.resources.includes('*') && !resources.some((r) => (rule.resources as readonly string[]).includes(r))) return false;
  return !rule.resourceNames?.length || (name !== undefined && rule.resourceNames.includes(name));
}

/**
 * The decision for a subject: some scope the route accepts must be allowed by the role of a binding
 * that names the subject and applies where the request is (a ClusterRoleBinding everywhere, a
 * RoleBinding in its own project only), and, when the token is narrowed, by the token's scopes.
 * `roles` resolves a role name (built-in or Role object) to its rules; an unknown name grants nothing.
 */
export function decide(input: {
  subject: Subject;
  tokenScopes: readonly string[];
  bindings: readonly Binding[];
  roles: (name: string) => readonly RoleRule[] | undefined;
  request: AccessRequest;
}): AccessDecision {
  const { subject, tokenScopes, bindings, roles, request } = input;
  const who = formatSubject(subject);
  const applicable = bindings.filter((b) => bindingNames(b, subject) && (b.namespace === undefined || b.namespace === request.namespace));
  const narrowed = !tokenScopes.includes('*');
  for (const scope of request.anyOf) {
    const permission = SCOPE_PERMISSIONS[scope];
    if (!permission) continue;
    if (narrowed && !tokenScopes.includes(scope)) continue;
    const resources = request.resource && permission.resources.includes(request.resource as RbacResource) ? [request.resource] : permission.resources;
    for (const b of applicable) {
      const rules = roles(b.spec.roleRef.name) ?? [];
      if (rules.some((rule) => ruleAllows(rule, permission.verb, resources, request.name))) {
        return { allowed: true, reason: `${b.namespace ? `RoleBinding "${b.namespace}/${b.name}"` : `ClusterRoleBinding "${b.name}"`} grants role "${b.spec.roleRef.name}" to ${who}` };
      }
    }
  }
  if (request.anyOf.length === 0) return { allowed: false, reason: 'the route grants no scope' };
  const wanted = describeWanted(request);
  if (bindings.every((b) => !bindingNames(b, subject))) return { allowed: false, reason: `${who} has no role binding: ask an administrator for one` };
  if (narrowed && !request.anyOf.some((s) => tokenScopes.includes(s))) {
    return { allowed: false, reason: `the token of ${who} is narrowed to scopes ${tokenScopes.join(',') || '(none)'}, and ${wanted} needs ${request.anyOf.join(' or ')}` };
  }
  return { allowed: false, reason: `no role bound to ${who} allows ${wanted}` };
}

function describeWanted(request: AccessRequest): string {
  const permission = SCOPE_PERMISSIONS[request.anyOf[0]];
  const resource = request.resource ?? permission?.resources[0] ?? 'this';
  const object = request.name ? `${resource}/${request.name}` : resource;
  return `${permission?.verb ?? 'access'} ${object}${request.namespace ? ` in project "${request.namespace}"` : ' cluster-wide'}`;
}

/** kubectl's verbs in Holdfast's terms, so `can-i get services` reads as `can-i read services`. */
const VERB_ALIASES: Record<string, Verb> = {
  get: 'read', list: 'read', watch: 'read',
  create: 'write', update: 'write', patch: 'write', delete: 'write',
  sync: 'deploy', undo: 'rollback', terminal: 'exec',
};

export function normaliseVerb(verb: string): Verb | undefined {
  const v = verb.toLowerCase();
  return (VERBS as readonly string[]).includes(v) ? (v as Verb) : VERB_ALIASES[v];
}

/** The scopes that stand for a verb on a resource; a plan is also allowed by the write scope. */
export function scopesFor(verb: Verb, resource: string): string[] {
  const verbs: Verb[] = verb === 'plan' ? ['plan', 'write'] : [verb];
  return Object.entries(SCOPE_PERMISSIONS)
    .filter(([, p]) => verbs.includes(p.verb) && (p.resources as readonly string[]).includes(resource))
    .map(([scope]) => scope);
}

export const RBAC_RESOURCES: readonly string[] = [...new Set(Object.values(SCOPE_PERMISSIONS).flatMap((p) => p.resources))];
