// One row of the audit log as the API returns it (GET /apis/holdfast.dev/v1alpha1/auditlog): the
// server's reader, the CLI and the dashboard share this shape.

export interface AuditEvent {
  id: string;
  time: string;
  actor: string;
  tokenId?: string;
  verb: string;
  kind: string;
  namespace?: string;
  name: string;
  generation?: number;
  resourceVersion?: string;
  dryRun: boolean;
  outcome: string;
  message?: string;
}
