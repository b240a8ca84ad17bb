// The one writer of audit rows. Callers pass the transaction of the write being recorded, so the
// write and its row commit or fail together; messages pass the redactor (audit rows leave the process).
import type { Db } from './database.js';
import { auditLog } from './schema.js';

export interface AuditEntry {
  actor: string;
  tokenId?: string;
  verb: string;
  kind: string;
  namespace?: string;
  name: string;
  generation?: number;
  resourceVersion?: number;
  dryRun?: boolean;
  outcome: 'Success' | 'Failure';
  message?: string;
}

export type RedactText = (text: string) => string;

export async function writeAudit(db: Db, entry: AuditEntry, at: Date, redact: RedactText = (t) => t): Promise<void> {
  await writeAudits(db, [entry], at, redact);
}

/** Several rows in one statement per chunk: the unchanged objects of a large apply are one round trip, not one each. */
export async function writeAudits(db: Db, entries: readonly AuditEntry[], at: Date, redact: RedactText = (t) => t): Promise<void> {
  for (let i = 0; i < entries.length; i += AUDIT_ROWS_PER_INSERT) {
    await db.insert(auditLog).values(entries.slice(i, i + AUDIT_ROWS_PER_INSERT).map((entry) => auditRow(entry, at, redact)));
  }
}

/** Twelve parameters a row: 1000 rows stay well inside PostgreSQL's 65 535 a statement. */
const AUDIT_ROWS_PER_INSERT = 1000;

const auditRow = (entry: AuditEntry, at: Date, redact: RedactText) => ({
  at,
  actor: storable(entry.actor),
  tokenId: entry.tokenId ?? null,
  verb: entry.verb,
  kind: storable(entry.kind),
  namespace: storable(entry.namespace ?? ''),
  name: storable(entry.name),
  generation: entry.generation ?? null,
  resourceVersion: entry.resourceVersion ?? null,
  dryRun: entry.dryRun ?? false,
  outcome: entry.outcome,
  message: entry.message === undefined ? null : storable(redact(entry.message)),
});

/** PostgreSQL text cannot hold NUL: a refused request that carried one is still recorded, with it escaped. */
const storable = (text: string) => text.replaceAll('\u0000', '\\u0000');
