// The audit log outside the resource store: rows are written by store/audit.ts (inside the caller's
// transaction); this reads the log page by page.
import { and, asc, eq, gt, gte, type SQL } from 'drizzle-orm';
import type { AuditEvent } from '../core/audit-event.js';
import { HoldfastError } from '../core/errors.js';
import type { Db } from '../store/database.js';
import { auditLog } from '../store/schema.js';

export { writeAudit, type AuditEntry, type RedactText } from '../store/audit.js';

export interface AuditQuery {
  since?: Date;
  limit: number;
  continue?: string;
  actor?: string;
  verb?: string;
  kind?: string;
  namespace?: string;
  name?: string;
}

/** The log in the order it was written, from `since`, one page of at most `limit` rows. */
export async function readAudit(db: Db, q: AuditQuery): Promise<{ items: AuditEvent[]; continue?: string }> {
  const conds: SQL[] = [];
  if (q.since) conds.push(gte(auditLog.at, q.since));
  if (q.continue) conds.push(gt(auditLog.id, decodeCursor(q.continue)));
  if (q.actor) conds.push(eq(auditLog.actor, q.actor));
  if (q.verb) conds.push(eq(auditLog.verb, q.verb));
  if (q.kind) conds.push(eq(auditLog.kind, q.kind));
  if (q.namespace !== undefined) conds.push(eq(auditLog.namespace, q.namespace));
  if (q.name) conds.push(eq(auditLog.name, q.name));
  const rows = await db
    .select()
    .from(auditLog)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(asc(auditLog.id))
    .limit(q.limit + 1);
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  return {
    items: page.map(toEvent),
    ...(more ? { continue: encodeCursor(page[page.length - 1].id) } : {}),
  };
}

function toEvent(row: typeof auditLog.$inferSelect): AuditEvent {
  return {
    id: String(row.id),
    time: row.at.toISOString(),
    actor: row.actor,
    ...(row.tokenId ? { tokenId: row.tokenId } : {}),
    verb: row.verb,
    kind: row.kind,
    ...(row.namespace ? { namespace: row.namespace } : {}),
    name: row.name,
    ...(row.generation !== null ? { generation: row.generation } : {}),
    ...(row.resourceVersion !== null ? { resourceVersion: String(row.resourceVersion) } : {}),
    dryRun: row.dryRun,
    outcome: row.outcome,
    ...(row.message ? { message: row.message } : {}),
  };
}

const encodeCursor = (id: number) => Buffer.from(JSON.stringify({ after: id })).toString('base64url');

function decodeCursor(token: string): number {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof v.after === 'number' && Number.isSafeInteger(v.after)) return v.after;
  } catch {
    // fall through
  }
  throw new HoldfastError('BadRequest', 'the provided continue parameter is not valid');
}
