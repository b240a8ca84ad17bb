// Authorization: deny by default. Every route names the scope it needs, through this table; a token
// carries a list of scopes (`*` = all). Scopes follow lanes: `:read`, planning (dry runs need only
// `:plan` or `:write`), and command (`:write` and the named actions).

export type Lane = 'read' | 'plan' | 'write';

/** The scope family that guards each resource kind. */
export const KIND_SCOPE: Record<string, string> = {
  Project: 'project',
  Server: 'server',
  SSHKey: 'server',
  Service: 'service',
  BackupPolicy: 'backup',
  Secret: 'secret',
  Event: 'event',
};

export const ALL_SCOPES = [
  'project:read', 'project:plan', 'project:write',
  'service:read', 'service:plan', 'service:write',
  'deploy:read', 'deploy:start', 'deploy:cancel', 'deploy:rollback',
  'server:read', 'server:plan', 'server:write',
  'backup:read', 'backup:plan', 'backup:write', 'backup:run', 'backup:restore',
  'secret:read', 'secret:plan', 'secret:write',
  'event:read',
  'token:admin',
  'audit:read',
  'metrics:read',
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
