// Drift records: one open row per Service, source and path while a difference lasts (first seen,
// last seen), closed when the drift engine no longer sees it (resolved, and how: healed by a heal
// deployment, or gone). Closed rows are the Service's drift history.
import { and, desc, eq, inArray, isNotNull, isNull, lt, ne, sql } from 'drizzle-orm';
import { canonicalJson } from '../core/canonical-json.js';
import type { DriftEntry, DriftSource } from '../core/drift/types.js';
import type { Db } from './database.js';
import { driftRecords } from './schema.js';
import { checkFencingToken } from './fencing.js';

export type DriftResolution = 'healed' | 'gone';

export interface DriftRecord extends DriftEntry {
  id: number;
  serviceUid: string;
  namespace: string;
  service: string;
  firstSeen: string;
  lastSeen: string;
  resolvedAt?: string;
  resolution?: DriftResolution;
  /** The heal deployment that removed it. */
  healedBy?: string;
}

export interface DriftServiceRef {
  uid: string;
  namespace: string;
  name: string;
}

export interface DriftUpdate {
  /** Every open record of the Service after the update (all sources). */
  open: DriftRecord[];
  opened: DriftRecord[];
  resolved: DriftRecord[];
}

export interface RecordOptions {
  /** A heal deployment that completed: drift first seen before it was queued counts as healed by it. */
  heal?: { deployment: string; queuedAt: Date };
}

type Row = typeof driftRecords.$inferSelect;

export class DriftStore {
  constructor(
    private readonly db: Db,
    private readonly opts: { clock?: () => Date; redact?: <T>(value: T) => T } = {},
  ) {}

  private now(): Date {
    return this.opts.clock?.() ?? new Date();
  }

  private redact<T>(value: T): T {
    return this.opts.redact ? this.opts.redact(value) : value;
  }

  /**
   * Makes the open records of the `checked` sources exactly `entries`: new differences open a
   * record, those still seen are updated (lastSeen, and their values), those gone are closed.
   * Records of sources not checked this time stay as they are.
   */
  async record(service: DriftServiceRef, entries: readonly DriftEntry[], checked: readonly DriftSource[], options: RecordOptions = {}): Promise<DriftUpdate> {
    const now = this.now();
    const update = await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      await checkFencingToken(tx);
      const current = checked.length
        ? await tx
            .select()
            .from(driftRecords)
            .where(and(eq(driftRecords.serviceUid, service.uid), isNull(driftRecords.resolvedAt), inArray(driftRecords.source, [...checked])))
            .for('update')
        : [];
      const byKey = new Map(current.map((r) => [`${r.source}\0${r.path}`, r]));
      const seen = new Set<string>();
      const opened: Row[] = [];
      const touched: number[] = [];
      for (const entry of entries) {
        if (!checked.includes(entry.source)) continue;
        const key = `${entry.source}\0${entry.path}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const expected = entry.expected === undefined ? null : this.redact(entry.expected);
        const actual = entry.actual === undefined ? null : this.redact(entry.actual);
        const existing = byKey.get(key);
        if (!existing) {
          const [row] = await tx
            .insert(driftRecords)
            .values({ serviceUid: service.uid, namespace: service.namespace, service: service.name, source: entry.source, path: entry.path, kind: entry.kind, expected, actual, firstSeen: now, lastSeen: now })
            .returning();
          opened.push(row);
        } else if (existing.kind !== entry.kind || canonicalJson(existing.expected) !== canonicalJson(expected) || canonicalJson(existing.actual) !== canonicalJson(actual)) {
          await tx.update(driftRecords).set({ kind: entry.kind, expected, actual, lastSeen: now }).where(eq(driftRecords.id, existing.id));
        } else touched.push(existing.id);
      }
      if (touched.length) await tx.update(driftRecords).set({ lastSeen: now }).where(inArray(driftRecords.id, touched));
      const gone = current.filter((r) => !seen.has(`${r.source}\0${r.path}`));
      const resolved: Row[] = [];
      for (const row of gone) {
        const healed = options.heal && row.firstSeen.getTime() <= options.heal.queuedAt.getTime() && row.source === 'live-vs-frozen';
        const [closed] = await tx
          .update(driftRecords)
          .set({ resolvedAt: now, resolution: healed ? 'healed' : 'gone', healedBy: healed ? options.heal!.deployment : null })
          .where(eq(driftRecords.id, row.id))
          .returning();
        resolved.push(closed);
      }
      const open = await tx
        .select()
        .from(driftRecords)
        .where(and(eq(driftRecords.serviceUid, service.uid), isNull(driftRecords.resolvedAt)))
        .orderBy(driftRecords.source, driftRecords.path);
      return { open: open.map(toRecord), opened: opened.map(toRecord), resolved: resolved.map(toRecord) };
    });
    return update;
  }

  /** The Service's open records. */
  async open(serviceUid: string): Promise<DriftRecord[]> {
    const rows = await this.db
      .select()
      .from(driftRecords)
      .where(and(eq(driftRecords.serviceUid, serviceUid), isNull(driftRecords.resolvedAt)))
      .orderBy(driftRecords.source, driftRecords.path);
    return rows.map(toRecord);
  }

  /** Every open record, of every Service (optionally of one namespace), by namespace and service. */
  async openAll(namespace?: string): Promise<DriftRecord[]> {
    const conds = [isNull(driftRecords.resolvedAt)];
    if (namespace !== undefined) conds.push(eq(driftRecords.namespace, namespace));
    const rows = await this.db
      .select()
      .from(driftRecords)
      .where(and(...conds))
      .orderBy(driftRecords.namespace, driftRecords.service, driftRecords.source, driftRecords.path);
    return rows.map(toRecord);
  }

  /** The Service's records, open and closed, newest first. */
  async history(serviceUid: string, limit = 200): Promise<DriftRecord[]> {
    const rows = await this.db.select().from(driftRecords).where(eq(driftRecords.serviceUid, serviceUid)).orderBy(desc(driftRecords.id)).limit(limit);
    return rows.map(toRecord);
  }

  /**
   * Closes the open records of the Service `namespace/name` that no longer exists, or of an earlier
   * Service of that name (every uid but `keepUid`).
   */
  async closeService(namespace: string, name: string, keepUid?: string): Promise<number> {
    const conds = [eq(driftRecords.namespace, namespace), eq(driftRecords.service, name), isNull(driftRecords.resolvedAt)];
    if (keepUid !== undefined) conds.push(ne(driftRecords.serviceUid, keepUid));
    const rows = await this.db
      .update(driftRecords)
      .set({ resolvedAt: this.now(), resolution: 'gone' })
      .where(and(...conds))
      .returning({ id: driftRecords.id });
    return rows.length;
  }

  /** The uids of Services with open records (to close those of deleted Services). */
  async servicesWithOpenDrift(): Promise<DriftServiceRef[]> {
    const rows = await this.db
      .selectDistinct({ uid: driftRecords.serviceUid, namespace: driftRecords.namespace, name: driftRecords.service })
      .from(driftRecords)
      .where(isNull(driftRecords.resolvedAt));
    return rows;
  }

  /** Deletes closed records resolved before `before`; returns how many. */
  async prune(before: Date): Promise<number> {
    const rows = await this.db
      .delete(driftRecords)
      .where(and(isNotNull(driftRecords.resolvedAt), lt(driftRecords.resolvedAt, before)))
      .returning({ id: driftRecords.id });
    return rows.length;
  }

  /** Open records counted by kind, across every Service (for the drift gauge). */
  async countOpenByKind(): Promise<Record<string, number>> {
    const rows = await this.db
      .select({ kind: driftRecords.kind, n: sql<number>`count(*)` })
      .from(driftRecords)
      .where(isNull(driftRecords.resolvedAt))
      .groupBy(driftRecords.kind);
    return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
  }
}

function toRecord(row: Row): DriftRecord {
  return {
    id: Number(row.id),
    serviceUid: row.serviceUid,
    namespace: row.namespace,
    service: row.service,
    source: row.source as DriftSource,
    path: row.path,
    kind: row.kind as DriftRecord['kind'],
    ...(row.expected !== null ? { expected: row.expected } : {}),
    ...(row.actual !== null ? { actual: row.actual } : {}),
    firstSeen: row.firstSeen.toISOString(),
    lastSeen: row.lastSeen.toISOString(),
    ...(row.resolvedAt ? { resolvedAt: row.resolvedAt.toISOString() } : {}),
    ...(row.resolution ? { resolution: row.resolution as DriftResolution } : {}),
    ...(row.healedBy ? { healedBy: row.healedBy } : {}),
  };
}
