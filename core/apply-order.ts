// The order objects are written in: what a kind refers to first (a binding needs its Role, a Service its Project, Server
// and Secrets; a BackupPolicy its Service; a GitRepository its credentials). Deletes go in reverse.
export const APPLY_ORDER = ['Project', 'Role', 'ServiceAccount', 'RoleBinding', 'ClusterRoleBinding', 'SSHKey', 'Secret', 'Server', 'Service', 'BackupPolicy', 'GitRepository'];

/** Position of a kind in APPLY_ORDER; kinds not listed go last. */
export function applyRank(kind: string): number {
  const i = APPLY_ORDER.indexOf(kind);
  return i < 0 ? APPLY_ORDER.length : i;
}
