// The scopes a token can carry, and how they are matched. Scopes follow lanes: `:read`; planning
// (dry runs need `:plan` or `:write`); command (`:write` and named actions such as deploy:start).
// A token carries a list of scopes; `*` grants all of them. Which route needs which scope is the
// route table's business (api/scopes.ts).

export type Lane = 'read' | 'plan' | 'write';

/** The scope family that guards each resource kind. */
export const KIND_SCOPE: Record<string, string> = {
  Project: 'project',
  Server: 'server',
  SSHKey: 'server',
  Service: 'service',
  BackupPolicy: 'backup',
  GitRepository: 'source',
  ApplySet: 'source',
  Secret: 'secret',
  Event: 'event',
  Role: 'rbac',
  RoleBinding: 'rbac',
  ClusterRoleBinding: 'rbac',
  ServiceAccount: 'rbac',
  Lease: 'lease',
};

export const ALL_SCOPES = [
  'project:read', 'project:plan', 'project:write',
  'service:read', 'service:plan', 'service:write',
  'deploy:read', 'deploy:start', 'deploy:cancel', 'deploy:rollback',
  'server:read', 'server:plan', 'server:write', 'server:cleanup', 'server:drain',
  'backup:read', 'backup:plan', 'backup:write', 'backup:run', 'backup:restore',
  'source:read', 'source:plan', 'source:write',
  'secret:read', 'secret:plan', 'secret:write', 'secret:rotate',
  'event:read',
  'rbac:read', 'rbac:plan', 'rbac:write',
  'lease:read', 'lease:plan', 'lease:write',
  'token:admin',
  'user:admin',
  'audit:read',
  'metrics:read',
  'logs:read',
  'terminal:open',
] as const;

export function resourceScope(kind: string, lane: Lane): string[] {
  const family = KIND_SCOPE[kind];
  if (!family) return [];
  if (lane === 'plan') return [`${family}:plan`, `${family}:write`];
  return [`${family}:${lane}`];
}

/** True when `granted` holds any of `anyOf`. An empty `anyOf` means the route has no scope: deny. */
export function allows(granted: readonly string[], anyOf: readonly string[]): boolean {
  if (anyOf.length === 0) return false;
  if (granted.includes('*')) return true;
  return anyOf.some((s) => granted.includes(s));
}

export function isKnownScope(s: string): boolean {
  return s === '*' || (ALL_SCOPES as readonly string[]).includes(s);
}
