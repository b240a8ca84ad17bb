// The resource store: Kubernetes object semantics (uid, generation, resourceVersion, finalizers,
// status subresource) over the relational schema. Every write runs in one transaction with its
// change-log row and its audit row; watchers are told after the commit.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import { canonicalJson } from '../core/canonical-json.js';
import { conflict, alreadyExists, notFound, HoldfastError } from '../core/errors.js';
import { API_VERSION, kindInfo, type AnyResource, type ObjectMeta, type Resource } from '../core/resource.js';
import type { ResourceByKind } from '../core/schema/types.generated.js';
import { matchesFields, matchesLabels, type FieldRequirement, type Requirement } from '../core/selectors.js';
import { writeAudit, writeAudits, type AuditEntry } from './audit.js';
import { EmbeddedWrites, failedStatement } from './embedded-writes.js';
import { checkFencingToken, WRITE_ORDER_LOCK } from './fencing.js';
import type { Db } from './database.js';
import { auditLog, resourceChanges, resources, sealedValues } from './schema.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ChangeEvent {
  type: WatchEventType;
  object: Resource;
  resourceVersion: number;
}

export interface WriteContext {
  /** Who asked: `token:<name>`, `system:controller:<kind>`, … */
  actor: string;
  tokenId?: string;
  dryRun?: boolean;
  /** Audit verb override (e.g. `patch` for a replace that came from a PATCH). */
  verb?: string;
  /** Internal housekeeping (event recording, expiry) is not audited. */
  skipAudit?: boolean;
}

/** One audit row written outside a resource write. */
export interface AuditRecord {
  verb: string;
  kind: string;
  namespace?: string;
  name: string;
  outcome: 'Success' | 'Failure';
  message?: string;
  generation?: number;
}

/** One write of a set (ResourceStore.writeSet): a create, or a replace pinned to metadata.resourceVersion. */
export interface SetWrite {
  verb: 'create' | 'update';
  object: Resource;
  sealed?: SealedWrite[];
  /** Status the server derives at write time (replace keeps the stored one otherwise). */
  status?: Resource['status'];
}

/** Values to store sealed alongside an object (Secret data, SSHKey private key). */
export interface SealedWrite {
  key: string;
  ciphertext: string;
  valueHash: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: Requirement[];
  fieldSelector?: FieldRequirement[];
  limit?: number;
  continue?: string;
}

export interface ListResult<T = Resource> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface StoreOptions {
  clock?: () => Date;
  newUid?: () => string;
  /**
   * Applied to what the system writes about objects (status, Event bodies, audit messages) before
   * it is stored: the secret redactor, so no secret value reaches the database through them.
   */
  redact?: <T>(value: T) => T;
  /**
   * Several replicas share this database (PostgreSQL): writes are serialised so resourceVersions
   * commit in order, and each commit notifies the other replicas (see change-feed.ts).
   */
  shared?: boolean;
}

/** The NOTIFY channel that carries each committed change's resourceVersion. */
export const CHANGES_CHANNEL = 'holdfast_changes';

type Row = typeof resources.$inferSelect;

/** One object's write inside a transaction: what it does given the current row and its new resourceVersion. */
interface WriteStep {
  verb: string;
  kind: string;
  namespace: string;
  name: string;
  apply: (tx: Db, current: Row | undefined, rv: number) => Promise<{ type: WatchEventType | null; row: Row }>;
}

/** Server-owned metadata fields: a client may send them but never sets them. */
const SERVER_META = ['uid', 'generation', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'] as const;

class DryRunRollback extends Error {
  constructor(readonly result: unknown) {
    super('dry run');
  }
}

/** Keys a `getMany` query names at most: three parameters each, well inside PostgreSQL's 65 535. */
const GET_MANY_CHUNK = 1000;

/** Rows one insert carries at most: the change log's seven parameters a row stay inside the 65 535. */
const ROWS_PER_INSERT = 1000;

type RowKey = { kind: string; namespace: string; name: string };

const rowKey = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

const keysIn = (keys: readonly RowKey[]) =>
  sql`(${resources.kind}, ${resources.namespace}, ${resources.name}) in (${sql.join(
    keys.map((k) => sql`(${k.kind}, ${k.namespace}, ${k.name})`),
    sql`, `,
  )})`;

/** The stored rows of `keys`, locked for the transaction, by rowKey. */
async function lockRows(tx: Db, keys: readonly RowKey[]): Promise<Map<string, Row>> {
  const found = new Map<string, Row>();
  for (let at = 0; at < keys.length; at += GET_MANY_CHUNK) {
    const rows = await tx.select().from(resources).where(keysIn(keys.slice(at, at + GET_MANY_CHUNK))).for('update');
    for (const row of rows) found.set(rowKey(row.kind, row.namespace, row.name), row);
  }
  return found;
}

/** `count` new resourceVersions, ascending, in one statement. */
async function nextResourceVersions(tx: Db, count: number): Promise<number[]> {
  const rows = await tx.select({ rv: sql<string>`nextval('resource_version_seq')` }).from(sql`generate_series(1, ${count}) as n`);
  return rows.map((r) => Number(r.rv)).sort((a, b) => a - b);
}

export class ResourceStore {
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private readonly clock: () => Date;
  private readonly newUid: () => string;
  private readonly redact: <T>(value: T) => T;
  private readonly shared: boolean;
  /** On the embedded database: writes read first, then run their statements in one message. */
  private readonly embedded: EmbeddedWrites | undefined;
  /** Set by followLog: listeners then hear every change from the log, in resourceVersion order. */
  private follow?: { delivered: number; wanted: number; reading?: Promise<void>; again: boolean; retry?: NodeJS.Timeout };

  constructor(
    readonly db: Db,
    opts: StoreOptions = {},
  ) {
    this.clock = opts.clock ?? (() => new Date());
    this.newUid = opts.newUid ?? randomUUID;
    this.redact = opts.redact ?? ((v) => v);
    this.shared = opts.shared ?? false;
    this.embedded = EmbeddedWrites.of(db);
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** One object; a kind with generated types reads as its type (`get('Service', …)` is a Service). */
  async get<K extends keyof ResourceByKind>(kind: K, namespace: string | undefined, name: string): Promise<ResourceByKind[K] | undefined>;
  async get(kind: string, namespace: string | undefined, name: string): Promise<Resource | undefined>;
  async get(kind: string, namespace: string | undefined, name: string): Promise<Resource | undefined> {
    const [row] = await this.db
      .select()
      .from(resources)
      .where(and(eq(resources.kind, kind), eq(resources.namespace, namespace ?? ''), eq(resources.name, name)));
    return row ? toResource(row) : undefined;
  }

  /** Those of `keys` that exist, as `get` reads each, in one query per thousand keys. */
  async getMany(keys: ReadonlyArray<{ kind: string; namespace?: string; name: string }>): Promise<Resource[]> {
    const found: Resource[] = [];
    for (let at = 0; at < keys.length; at += GET_MANY_CHUNK) {
      const chunk = keys.slice(at, at + GET_MANY_CHUNK).map((k) => ({ kind: k.kind, namespace: k.namespace ?? '', name: k.name }));
      const rows = await this.db.select().from(resources).where(keysIn(chunk));
      found.push(...rows.map(toResource));
    }
    return found;
  }

  async mustGet<K extends keyof ResourceByKind>(kind: K, namespace: string | undefined, name: string): Promise<ResourceByKind[K]>;
  async mustGet(kind: string, namespace: string | undefined, name: string): Promise<Resource>;
  async mustGet(kind: string, namespace: string | undefined, name: string): Promise<Resource> {
    const obj = await this.get(kind, namespace, name);
    if (!obj) throw notFound(kind, name);
    return obj;
  }

  /** Lists in (namespace, name) order; `continue` is an opaque cursor after the last item returned. */
  async list<K extends keyof ResourceByKind>(kind: K, opts?: ListOptions): Promise<ListResult<ResourceByKind[K]>>;
  async list(kind: string, opts?: ListOptions): Promise<ListResult>;
  async list(kind: string, opts: ListOptions = {}): Promise<ListResult> {
    const conds = [eq(resources.kind, kind)];
    if (opts.namespace !== undefined) conds.push(eq(resources.namespace, opts.namespace));
    if (opts.continue) {
      const after = decodeContinue(opts.continue);
      conds.push(sql`(${resources.namespace}, ${resources.name}) > (${after.ns}, ${after.name})`);
    }
    // The rows and the current revision in one statement; the one-row `one` keeps the revision when
    // no row matches. One statement, not a transaction of two: the embedded store holds its lock
    // through a transaction, and lists are frequent (every Service change lists its project's
    // BackupPolicies). The revision is the newest committed change in the statement's own snapshot
    // (see CURRENT_REVISION), so a watch started from it misses nothing, on either store.
    const joined = await this.db
      .select({ rv: CURRENT_REVISION, row: resources })
      .from(sql`(select 1) as one`)
      .leftJoin(resources, and(...conds))
      .orderBy(asc(resources.namespace), asc(resources.name));
    const rv = Number(joined[0]?.rv ?? 0);
    const items: Resource[] = [];
    let next: string | undefined;
    for (const { row } of joined) {
      if (!row) continue;
      const obj = toResource(row);
      if (opts.labelSelector && !matchesLabels(opts.labelSelector, obj.metadata.labels)) continue;
      if (opts.fieldSelector && !matchesFields(opts.fieldSelector, obj)) continue;
      if (opts.limit && items.length === opts.limit) {
        const last = items[items.length - 1].metadata;
        next = encodeContinue(last.namespace ?? '', last.name);
        break;
      }
      items.push(obj);
    }
    return { items, resourceVersion: String(rv), continue: next };
  }

  async currentResourceVersion(): Promise<number> {
    return currentRevision(this.db);
  }

  async sealedValues(ownerUid: string): Promise<SealedWrite[]> {
    return this.db
      .select({ key: sealedValues.key, ciphertext: sealedValues.ciphertext, valueHash: sealedValues.valueHash })
      .from(sealedValues)
      .where(eq(sealedValues.ownerUid, ownerUid))
      .orderBy(asc(sealedValues.key));
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(obj: AnyResource, ctx: WriteContext, sealed?: SealedWrite[]): Promise<Resource> {
    const { ns } = placeOf(obj);
    return this.write(ctx, 'create', obj.kind, ns, obj.metadata.name, this.creating(obj, sealed));
  }

  private creating(obj: AnyResource, sealed?: SealedWrite[]): WriteStep['apply'] {
    const { info, ns } = placeOf(obj);
    return async (tx, current, rv) => {
      if (current) throw alreadyExists(obj.kind, obj.metadata.name);
      const now = this.clock();
      const meta = userMeta(obj.metadata);
      const row: Row = {
        uid: this.newUid(),
        kind: obj.kind,
        namespace: ns,
        name: obj.metadata.name,
        resourceVersion: rv,
        generation: 1,
        metadata: { ...meta, creationTimestamp: now.toISOString() },
        spec: info.hasSpec ? obj.spec ?? {} : null,
        status: this.redact(obj.status) ?? null,
        body: info.hasSpec ? null : this.redact(bodyOf(obj)),
        createdAt: now,
        deletionTimestamp: null,
      };
      await tx.insert(resources).values(row);
      if (sealed) await this.writeSealed(tx, row.uid, sealed, now, true);
      return { type: 'ADDED', row };
    };
  }

  /**
   * Replaces spec, labels, annotations and finalizers (status is kept: it has its own subresource).
   * A given metadata.resourceVersion must match (optimistic concurrency); generation moves only
   * when the spec changes. Removing the last finalizer of an object being deleted removes it.
   */
  async replace(obj: AnyResource, ctx: WriteContext, sealed?: SealedWrite[], opts: { status?: Resource['status'] } = {}): Promise<Resource> {
    const { ns } = placeOf(obj);
    return this.write(ctx, 'update', obj.kind, ns, obj.metadata.name, this.replacing(obj, sealed, opts.status));
  }

  private replacing(obj: AnyResource, sealed?: SealedWrite[], status?: Resource['status']): WriteStep['apply'] {
    const { info } = placeOf(obj);
    return async (tx, current, rv) => {
      if (!current) throw notFound(obj.kind, obj.metadata.name);
      checkPreconditions(current, obj.metadata);
      const meta = { ...userMeta(obj.metadata), creationTimestamp: (current.metadata as ObjectMeta).creationTimestamp };
      const spec = info.hasSpec ? obj.spec ?? {} : null;
      const specChanged = canonicalJson(spec) !== canonicalJson(current.spec);
      const row: Row = {
        ...current,
        resourceVersion: rv,
        generation: current.generation + (specChanged ? 1 : 0),
        metadata: meta,
        spec,
        ...(status ? { status: this.redact(status) } : {}),
        body: info.hasSpec ? null : this.redact(bodyOf(obj)),
      };
      if (row.deletionTimestamp && !(meta.finalizers?.length ?? 0)) {
        await tx.delete(resources).where(eq(resources.uid, current.uid));
        await tx.delete(sealedValues).where(eq(sealedValues.ownerUid, current.uid));
        return { type: 'DELETED', row };
      }
      await tx.update(resources).set(row).where(eq(resources.uid, current.uid));
      if (sealed) await this.writeSealed(tx, row.uid, sealed, this.clock(), false);
      return { type: 'MODIFIED', row };
    };
  }

  /**
   * Creates and replaces several objects in one transaction: all of them or none. A replace's
   * metadata.resourceVersion must still be current and a create's object must not exist yet; the
   * first write that fails fails the set, with the error naming its object. `unchanged` objects
   * (named by a set but left as they are) are audited in the same transaction.
   */
  async writeSet(writes: SetWrite[], ctx: WriteContext, unchanged: AuditRecord[] = []): Promise<Resource[]> {
    return this.transact(
      ctx,
      writes.map((w) => {
        const { ns } = placeOf(w.object);
        const apply = w.verb === 'create' ? this.creating(w.object, w.sealed) : this.replacing(w.object, w.sealed, w.status);
        return { verb: w.verb, kind: w.object.kind, namespace: ns, name: w.object.metadata.name, apply };
      }),
      unchanged,
    );
  }

  /**
   * Replaces the spec of several objects of one kind in one UPDATE, each only if its
   * metadata.resourceVersion is still the stored one (the compare-and-swap of replace); an object that
   * moved or is gone is left as it is and missing from the answer. Each written object gets its
   * change-log row, as any write does. A replica's lease round renews all its leases with it.
   */
  async replaceSpecsIfCurrent(kind: string, objects: AnyResource[], ctx: WriteContext): Promise<Resource[]> {
    if (objects.length === 0) return [];
    const info = requireKind(kind);
    const at = (o: AnyResource) => sql`(${resources.namespace}, ${resources.name}) = (${info.namespaced ? o.metadata.namespace ?? '' : ''}, ${o.metadata.name})`;
    const newSpec = sql`case ${sql.join(objects.map((o) => sql`when ${at(o)} then ${JSON.stringify(o.spec ?? {})}::jsonb`), sql` `)} end`;
    const current = sql.join(
      objects.map((o) => sql`(${resources.namespace} = ${info.namespaced ? o.metadata.namespace ?? '' : ''} and ${resources.name} = ${o.metadata.name} and ${resources.resourceVersion} = ${Number(o.metadata.resourceVersion)})`),
      sql` or `,
    );
    const events: ChangeEvent[] = [];
    // On the embedded database it takes its turn with the other resource writes (store/embedded-writes.ts).
    const exclusive = <T>(fn: () => Promise<T>) => (this.embedded ? this.embedded.exclusive(fn) : fn());
    try {
      await exclusive(() => this.db.transaction(async (txAny) => {
        const tx = txAny as unknown as Db;
        if (this.shared) await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_ORDER_LOCK})`);
        await checkFencingToken(tx);
        const rows = await tx
          .update(resources)
          .set({
            spec: newSpec,
            generation: sql`${resources.generation} + case when ${resources.spec} = ${newSpec} then 0 else 1 end`,
            resourceVersion: sql`nextval('resource_version_seq')`,
          })
          .where(and(eq(resources.kind, kind), sql`(${current})`))
          .returning();
        if (rows.length === 0) return;
        rows.sort((a, b) => a.resourceVersion - b.resourceVersion);
        for (const row of rows) events.push({ type: 'MODIFIED', object: toResource(row), resourceVersion: row.resourceVersion });
        const now = this.clock();
        await tx.insert(resourceChanges).values(events.map((e) => ({ resourceVersion: e.resourceVersion, type: e.type, kind, namespace: e.object.metadata.namespace ?? '', name: e.object.metadata.name, object: e.object, at: now })));
        if (this.shared) await tx.execute(sql`select pg_notify(${CHANGES_CHANNEL}, ${String(events.at(-1)!.resourceVersion)})`);
        if (!ctx.skipAudit) {
          const audits = events.map((e) => ({ actor: ctx.actor, tokenId: ctx.tokenId, verb: ctx.verb ?? 'update', kind, namespace: e.object.metadata.namespace, name: e.object.metadata.name, generation: e.object.metadata.generation, resourceVersion: e.resourceVersion, outcome: 'Success' as const }));
          await writeAudits(tx, audits, now);
        }
      }));
    } catch (err) {
      throw translateDbError(err, kind, objects.map((o) => o.metadata.name).join(', '));
    }
    await this.announce(events);
    return events.map((e) => e.object);
  }

  /** Writes only `status`. */
  async replaceStatus(obj: AnyResource, ctx: WriteContext): Promise<Resource> {
    const info = requireKind(obj.kind);
    const ns = info.namespaced ? obj.metadata.namespace ?? '' : '';
    return this.write({ ...ctx, verb: ctx.verb ?? 'update-status' }, 'update-status', obj.kind, ns, obj.metadata.name, async (tx, current, rv) => {
      if (!current) throw notFound(obj.kind, obj.metadata.name);
      checkPreconditions(current, obj.metadata);
      const row: Row = { ...current, resourceVersion: rv, status: this.redact(obj.status) ?? null };
      await tx.update(resources).set({ resourceVersion: rv, status: row.status }).where(eq(resources.uid, current.uid));
      return { type: 'MODIFIED', row };
    });
  }

  /**
   * Deletes an object, or marks it (deletionTimestamp) while finalizers remain so controllers can
   * clean up first. Returns the object as it stands after the call and whether it is gone.
   */
  async delete(
    kind: string,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    preconditions: { uid?: string; resourceVersion?: string } = {},
  ): Promise<{ object: Resource; gone: boolean }> {
    const info = requireKind(kind);
    const ns = info.namespaced ? namespace ?? '' : '';
    let gone = false;
    const object = await this.write(ctx, 'delete', kind, ns, name, async (tx, current, rv) => {
      if (!current) throw notFound(kind, name);
      if (preconditions.uid && preconditions.uid !== current.uid)
        throw conflict(kind, name, `the UID in the precondition (${preconditions.uid}) does not match the UID in record (${current.uid}). The object might have been deleted and then recreated`);
      checkPreconditions(current, { name, resourceVersion: preconditions.resourceVersion });
      const finalizers = (current.metadata as ObjectMeta).finalizers ?? [];
      if (finalizers.length > 0) {
        if (current.deletionTimestamp) return { type: null, row: current };
        const now = this.clock();
        const row: Row = {
          ...current,
          resourceVersion: rv,
          deletionTimestamp: now,
          metadata: { ...(current.metadata as object), deletionTimestamp: now.toISOString() },
        };
        await tx.update(resources).set(row).where(eq(resources.uid, current.uid));
        return { type: 'MODIFIED', row };
      }
      await tx.delete(resources).where(eq(resources.uid, current.uid));
      await tx.delete(sealedValues).where(eq(sealedValues.ownerUid, current.uid));
      gone = true;
      return { type: 'DELETED', row: { ...current, resourceVersion: rv } };
    });
    return { object, gone };
  }

  // ---- audit, watch --------------------------------------------------------------------------

  /** Records an audit row for a call that failed before it could write (its write rolled back). */
  async auditFailure(ctx: WriteContext, verb: string, kind: string, namespace: string | undefined, name: string, message: string): Promise<void> {
    await this.audit(ctx, { verb, kind, namespace, name, outcome: 'Failure', message });
  }

  /** Records an audit row for a call that is not a resource write (e.g. a deployment sync, rollback or cancel). */
  async audit(ctx: WriteContext, entry: AuditRecord): Promise<void> {
    await writeAudit(this.db, { ...entry, actor: ctx.actor, tokenId: ctx.tokenId, dryRun: ctx.dryRun }, this.clock(), this.redact);
  }

  /** The actor of the newest successful API write to an object (controllers' own writes excluded). */
  async lastWriter(kind: string, namespace: string | undefined, name: string): Promise<string | undefined> {
    const [row] = await this.db
      .select({ actor: auditLog.actor })
      .from(auditLog)
      .where(and(eq(auditLog.kind, kind), eq(auditLog.namespace, namespace ?? ''), eq(auditLog.name, name), eq(auditLog.outcome, 'Success'), eq(auditLog.dryRun, false)))
      .orderBy(desc(auditLog.id))
      .limit(1);
    return row?.actor;
  }

  subscribe(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * From now on listeners hear changes from the change log (this replica's and every other's) in
   * resourceVersion order, read when `catchUp` is called, instead of straight from this process's writes.
   */
  async followLog(): Promise<void> {
    const [{ rv }] = await this.db.select({ rv: sql<number>`coalesce(max(${resourceChanges.resourceVersion}), 0)` }).from(resourceChanges);
    this.follow = { delivered: Number(rv), wanted: Number(rv), again: false };
  }

  /** The newest resourceVersion delivered to listeners (followLog mode). */
  get deliveredResourceVersion(): number | undefined {
    return this.follow?.delivered;
  }

  /**
   * Delivers the logged changes after the last one delivered. `notified` is a resourceVersion a
   * notification announced: nothing is read when it has been delivered already.
   */
  catchUp(notified?: number): Promise<void> {
    const f = this.follow;
    if (!f) return Promise.resolve();
    if (notified !== undefined) {
      if (notified <= f.delivered) return Promise.resolve();
      f.wanted = Math.max(f.wanted, notified);
    }
    if (f.reading) {
      f.again = true;
      return f.reading;
    }
    f.reading = (async () => {
      try {
        do {
          f.again = false;
          const rows = await this.db
            .select()
            .from(resourceChanges)
            .where(gt(resourceChanges.resourceVersion, f.delivered))
            .orderBy(asc(resourceChanges.resourceVersion));
          for (const r of rows) {
            const event: ChangeEvent = { type: r.type as WatchEventType, object: r.object as Resource, resourceVersion: Number(r.resourceVersion) };
            f.delivered = event.resourceVersion;
            for (const l of this.listeners) safely(() => l(event));
          }
        } while (f.again);
      } finally {
        f.reading = undefined;
      }
      // A notification can arrive before its row is visible to this connection's next read.
      if (f.wanted > f.delivered && !f.retry) {
        f.retry = setTimeout(() => {
          f.retry = undefined;
          void this.catchUp().catch(() => undefined);
        }, 50);
        f.retry.unref();
      }
    })();
    return f.reading;
  }

  /** Changes after `resourceVersion`, oldest first; undefined when the log no longer reaches back that far. */
  async changesSince(resourceVersion: number, kind?: string): Promise<ChangeEvent[] | undefined> {
    const [oldest] = await this.db
      .select({ rv: sql<number>`coalesce(min(${resourceChanges.resourceVersion}), 0)` })
      .from(resourceChanges);
    const current = await this.currentResourceVersion();
    const oldestRv = Number(oldest.rv);
    // The log holds every change from oldestRv on; anything older than oldestRv - 1 may be missing.
    if (resourceVersion < current && (oldestRv === 0 || resourceVersion < oldestRv - 1)) return undefined;
    const conds = [gt(resourceChanges.resourceVersion, resourceVersion)];
    if (kind) conds.push(eq(resourceChanges.kind, kind));
    const rows = await this.db
      .select()
      .from(resourceChanges)
      .where(and(...conds))
      .orderBy(asc(resourceChanges.resourceVersion));
    return rows.map((r) => ({ type: r.type as WatchEventType, object: r.object as Resource, resourceVersion: Number(r.resourceVersion) }));
  }

  /** Drops change-log rows older than `before` (watches from before then get 410 Gone and re-list). */
  async pruneChanges(before: Date): Promise<void> {
    // Always keep the newest row, so the log knows how far back it reaches.
    await this.db
      .delete(resourceChanges)
      .where(
        and(
          lt(resourceChanges.at, before),
          lt(resourceChanges.resourceVersion, sql`(select max(${resourceChanges.resourceVersion}) from ${resourceChanges})`),
        ),
      );
  }

  // ---- internals -----------------------------------------------------------------------------

  private async write(ctx: WriteContext, verb: string, kind: string, namespace: string, name: string, apply: WriteStep['apply']): Promise<Resource> {
    const [object] = await this.transact(ctx, [{ verb, kind, namespace, name, apply }]);
    return object;
  }

  /**
   * Runs writes in one transaction, each with its change-log row and its audit row (plus
   * `alsoAudit` rows); listeners hear the changes after the commit. A dry run rolls it all back
   * and records only that it was asked.
   */
  private async transact(ctx: WriteContext, steps: WriteStep[], alsoAudit: AuditRecord[] = []): Promise<Resource[]> {
    const events: ChangeEvent[] = [];
    let failing = steps[0];
    const auditOf = (step: WriteStep) => ({ actor: ctx.actor, tokenId: ctx.tokenId, verb: ctx.verb ?? step.verb, kind: step.kind, namespace: step.namespace, name: step.name, outcome: 'Success' as const });
    const extraAudit = alsoAudit.map((entry) => ({ ...entry, actor: ctx.actor, tokenId: ctx.tokenId }));
    // The set's statements, given the rows it replaces and its resourceVersions. A set of n writes is
    // n statements (each its own insert or update) plus a few for all of them: its change-log rows
    // and its audit rows. Written one statement each, 1000 objects applied at once were 5000 round trips.
    const writeAll = async (tx: Db, currentRows: Map<string, Row>, rvs: number[], stepStarts?: () => void): Promise<Resource[]> => {
      const objects: Resource[] = [];
      const changes: Array<typeof resourceChanges.$inferInsert> = [];
      const audits: AuditEntry[] = [];
      for (const [i, step] of steps.entries()) {
        failing = step;
        stepStarts?.();
        const key = rowKey(step.kind, step.namespace, step.name);
        const { type, row } = await step.apply(tx, currentRows.get(key), rvs[i]!);
        // A set names each object once; a second write of the same one must see the first.
        if (type === 'DELETED') currentRows.delete(key);
        else currentRows.set(key, row);
        const object = toResource(row);
        objects.push(object);
        if (type) {
          events.push({ type, object, resourceVersion: row.resourceVersion });
          changes.push({ resourceVersion: row.resourceVersion, type, kind: step.kind, namespace: step.namespace, name: step.name, object, at: this.clock() });
        }
        audits.push({ ...auditOf(step), generation: row.generation, resourceVersion: row.resourceVersion, dryRun: ctx.dryRun });
      }
      failing = steps[0];
      stepStarts?.();
      for (let at = 0; at < changes.length; at += ROWS_PER_INSERT) await tx.insert(resourceChanges).values(changes.slice(at, at + ROWS_PER_INSERT));
      // Listeners read the change log from their last resourceVersion: the newest one tells them all.
      if (this.shared && changes.length) await tx.execute(sql`select pg_notify(${CHANGES_CHANNEL}, ${String(changes.at(-1)!.resourceVersion)})`);
      if (!ctx.skipAudit) {
        await writeAudits(tx, audits, this.clock());
        await writeAudits(tx, extraAudit.map((entry) => ({ ...entry, dryRun: ctx.dryRun })), this.clock(), this.redact);
      }
      return objects;
    };
    const run = async (): Promise<Resource[]> => {
      const embedded = this.embedded;
      if (embedded) {
        return embedded.exclusive(async () => {
          // No other resource write runs until these statements commit: what is read here stays current
          // (outside a transaction the row locks end with the read; this turn is what holds writers off).
          await checkFencingToken(this.db);
          const currentRows = await lockRows(this.db, steps);
          const rvs = await nextResourceVersions(this.db, steps.length);
          // Where each step's statements begin (and, last, where the set's own begin).
          const starts: number[] = [];
          const { result: objects, statements } = await embedded.record((tx, recorded) => writeAll(tx, currentRows, rvs, () => starts.push(recorded.length)));
          try {
            await embedded.run(statements, { commit: !ctx.dryRun });
          } catch (err) {
            const at = failedStatement(err);
            let step = -1;
            if (at !== undefined) while (step + 1 < starts.length && starts[step + 1] <= at) step++;
            failing = step >= 0 && step < steps.length ? steps[step] : steps[0];
            throw err;
          }
          if (ctx.dryRun) throw new DryRunRollback(objects);
          return objects;
        });
      }
      return this.db.transaction(async (txAny) => {
        const tx = txAny as unknown as Db;
        // Serialises writers before any row is locked, so resourceVersions commit in their order.
        if (this.shared) await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_ORDER_LOCK})`);
        await checkFencingToken(tx);
        const objects = await writeAll(tx, await lockRows(tx, steps), await nextResourceVersions(tx, steps.length));
        if (ctx.dryRun) throw new DryRunRollback(objects);
        return objects;
      });
    };
    try {
      const objects = await run();
      await this.announce(events);
      return objects;
    } catch (err) {
      if (err instanceof DryRunRollback) {
        // The dry run's own transaction rolled back with its audit rows: record that it was asked.
        const objects = err.result as Resource[];
        if (!ctx.skipAudit) {
          await writeAudits(this.db, steps.map((step, i) => ({ ...auditOf(step), generation: objects[i].metadata.generation, dryRun: true })), this.clock());
          await writeAudits(this.db, extraAudit.map((entry) => ({ ...entry, dryRun: true })), this.clock(), this.redact);
        }
        return objects;
      }
      throw translateDbError(err, failing?.kind ?? '', failing?.name ?? '');
    }
  }

  /** Tells listeners about committed changes, straight or through the log. */
  private async announce(events: ChangeEvent[]): Promise<void> {
    if (!this.follow) for (const event of events) for (const l of this.listeners) safely(() => l(event));
    // Following the log, this replica's listeners hear its own writes before the write returns, as
    // they do without the log: a deleted Secret stops being masked the moment DELETE answers.
    // A failed read is retried on the next notification; it never fails the write.
    const last = events.at(-1);
    if (last && this.follow) await this.catchUp(last.resourceVersion).catch(() => undefined);
  }

  private async writeSealed(tx: Db, ownerUid: string, values: SealedWrite[], now: Date, fresh: boolean) {
    if (!fresh) await tx.delete(sealedValues).where(eq(sealedValues.ownerUid, ownerUid));
    if (values.length === 0) return;
    await tx.insert(sealedValues).values(values.map((v) => ({ ownerUid, ...v, updatedAt: now })));
  }
}

function safely(fn: () => void) {
  try {
    fn();
  } catch {
    // A failing watcher must not fail the write that already committed.
  }
}

/**
 * The newest committed resourceVersion (0 before the first write): the change log's newest row, as
 * the reading statement's snapshot sees it. Not the sequence's last value: on PostgreSQL a write that
 * has drawn its revision and not committed yet would be named by it while its row is not yet seen,
 * and a watch from there would skip that write. Writes commit in revision order (WRITE_ORDER_LOCK),
 * and pruning keeps the newest row, so this is exact.
 */
const CURRENT_REVISION = sql<number>`coalesce((select max(${resourceChanges.resourceVersion}) from ${resourceChanges}), 0)`;

async function currentRevision(db: Db): Promise<number> {
  const [{ rv }] = await db.select({ rv: CURRENT_REVISION }).from(sql`(select 1) as one`);
  return Number(rv);
}

/** The kind's description and the namespace column an object is stored under ('' when cluster-scoped). */
function placeOf(obj: AnyResource) {
  const info = requireKind(obj.kind);
  return { info, ns: info.namespaced ? obj.metadata.namespace ?? '' : '' };
}

function requireKind(kind: string) {
  const info = kindInfo(kind);
  if (!info) throw new HoldfastError('BadRequest', `unknown kind "${kind}"`);
  return info;
}

function checkPreconditions(current: Row, meta: Pick<ObjectMeta, 'name' | 'resourceVersion'>) {
  if (meta.resourceVersion && meta.resourceVersion !== String(current.resourceVersion)) {
    throw conflict(current.kind, current.name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
}

/** Metadata a client owns; server-owned fields are dropped. */
function userMeta(meta: ObjectMeta): ObjectMeta {
  const out: Record<string, unknown> = { ...meta };
  for (const k of SERVER_META) delete out[k];
  delete out.name;
  delete out.namespace;
  for (const k of ['labels', 'annotations'] as const) if (out[k] && Object.keys(out[k] as object).length === 0) delete out[k];
  if (Array.isArray(out.finalizers) && out.finalizers.length === 0) delete out.finalizers;
  return out as unknown as ObjectMeta;
}

function bodyOf(obj: AnyResource): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, spec: _s, status: _st, ...rest } = obj;
  return rest;
}

function toResource(row: Row): Resource {
  const info = kindInfo(row.kind);
  const meta = row.metadata as ObjectMeta;
  const metadata: ObjectMeta = {
    name: row.name,
    ...(row.namespace ? { namespace: row.namespace } : {}),
    uid: row.uid,
    resourceVersion: String(row.resourceVersion),
    ...(info?.hasSpec ? { generation: row.generation } : {}),
    creationTimestamp: meta.creationTimestamp ?? row.createdAt.toISOString(),
    ...(meta.deletionTimestamp ? { deletionTimestamp: meta.deletionTimestamp } : {}),
    ...(meta.labels ? { labels: meta.labels } : {}),
    ...(meta.annotations ? { annotations: meta.annotations } : {}),
    ...(meta.finalizers?.length ? { finalizers: meta.finalizers } : {}),
    ...(meta.ownerReferences ? { ownerReferences: meta.ownerReferences } : {}),
  };
  const obj: Resource = { apiVersion: API_VERSION, kind: row.kind, metadata };
  if (row.body) Object.assign(obj, row.body);
  if (row.spec !== null && row.spec !== undefined) obj.spec = row.spec as Record<string, unknown>;
  if (row.status) obj.status = row.status as Resource['status'];
  return obj;
}

function encodeContinue(ns: string, name: string): string {
  return Buffer.from(JSON.stringify({ ns, name })).toString('base64url');
}

function decodeContinue(token: string): { ns: string; name: string } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof v.ns === 'string' && typeof v.name === 'string' && !`${v.ns}${v.name}`.includes('\u0000')) return v;
  } catch {
    // fall through
  }
  throw new HoldfastError('BadRequest', 'the provided continue parameter is not valid');
}

/** A unique-index race between two creates is AlreadyExists, not an internal error. */
function translateDbError(err: unknown, kind: string, name: string): unknown {
  const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  if (code === '23505') return alreadyExists(kind, name);
  if (code === '40001' || code === '40P01') return conflict(kind, name, 'concurrent modification; try again');
  return err;
}
