// Deployment records in the store: the state machine of one rollout (core/deploy/deployment-record.ts),
// its steps with their own status and times, its log lines, and the frozen input it deployed. The
// frozen input is written once, when the record is queued.
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { FrozenInput } from '../core/deploy/container-spec.js';
import { HoldfastError } from '../core/errors.js';
import { applyProgress, type ProgressChange } from '../core/deploy/deployment-progress.js';
import { isTerminal, STEP_NAMES, type DeploymentPhase, type DeploymentRecord, type DeploymentStep, type DeploymentTrigger, type LogLine, type StepName } from '../core/deploy/deployment-record.js';
import type { Db } from './database.js';
import { checkFencingToken, currentFencingToken } from './fencing.js';
import { deploymentLogs, deployments } from './schema.js';

export * from '../core/deploy/deployment-record.js';

export interface NewDeployment {
  service: { uid: string; namespace: string; name: string };
  generation: number;
  trigger: DeploymentTrigger;
  actor: string;
  server: string;
  sourceCommit?: string;
  frozen: FrozenInput;
  specHash: string;
  rollbackOf?: number;
  deadlineMs: number;
}

/** What one write changed: the record (with the log lines written in the same transaction), or log lines only. */
export type DeploymentChange = { type: 'deployment'; record: DeploymentRecord; lines: LogLine[] } | { type: 'log'; deploymentId: string; lines: LogLine[] };

/** A log line waiting to be written, with the time it was said. */
export interface PendingLogLine {
  step: string;
  at: Date;
  line: string;
}

type Row = typeof deployments.$inferSelect;

const MAX_LOG_LINE = 4000;

export class DeploymentStore {
  private readonly listeners = new Set<(c: DeploymentChange) => void>();

  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
    private readonly newId: () => string = () => 'd-' + randomBytes(6).toString('hex'),
    /** Masks secret values in log lines and messages before they are stored (the secret redactor). */
    private readonly redactText: (text: string) => string = (text) => text,
  ) {}

  subscribe(listener: (c: DeploymentChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues a deployment with the next revision of its Service. */
  async create(input: NewDeployment): Promise<DeploymentRecord> {
    const now = this.clock();
    const record = await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      await checkFencingToken(tx);
      // Serialise revision numbering per service, also before its first row exists: a transaction
      // advisory lock on the service's uid (row locks cannot lock rows that are not there yet).
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'deployments/' + input.service.uid}))`);
      const [{ max }] = await tx
        .select({ max: sql<number>`coalesce(max(${deployments.revision}), 0)` })
        .from(deployments)
        .where(eq(deployments.serviceUid, input.service.uid));
      const row: Row = {
        id: this.newId(),
        serviceUid: input.service.uid,
        namespace: input.service.namespace,
        service: input.service.name,
        revision: Number(max) + 1,
        generation: input.generation,
        phase: 'queued',
        trigger: input.trigger,
        actor: input.actor,
        server: input.server,
        sourceCommit: input.sourceCommit ?? null,
        frozen: input.frozen,
        specHash: input.specHash,
        rollbackOf: input.rollbackOf ?? null,
        steps: STEP_NAMES.map((name) => ({ name, status: 'pending' })),
        reason: null,
        message: null,
        cancelRequested: false,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
        deadline: new Date(now.getTime() + input.deadlineMs),
      };
      await tx.insert(deployments).values(row);
      return toRecord(row);
    });
    this.emit({ type: 'deployment', record, lines: [] });
    return record;
  }

  /** Whether a cancel of the deployment was asked for: the one field a running rollout checks before each action. */
  async cancelRequested(id: string): Promise<boolean> {
    const [row] = await this.db.select({ cancelRequested: deployments.cancelRequested }).from(deployments).where(eq(deployments.id, id));
    return row?.cancelRequested === true;
  }

  async get(id: string): Promise<DeploymentRecord | undefined> {
    const [row] = await this.db.select().from(deployments).where(eq(deployments.id, id));
    return row ? toRecord(row) : undefined;
  }

  async mustGet(id: string): Promise<DeploymentRecord> {
    const rec = await this.get(id);
    if (!rec) throw new HoldfastError('NotFound', `deployment "${id}" not found`, { details: { kind: 'Deployment', name: id } });
    return rec;
  }

  /** Newest first. */
  async listForService(namespace: string, service: string, limit = 50): Promise<DeploymentRecord[]> {
    const rows = await this.db
      .select()
      .from(deployments)
      .where(and(eq(deployments.namespace, namespace), eq(deployments.service, service)))
      .orderBy(desc(deployments.revision))
      .limit(limit);
    return rows.map(toRecord);
  }

  async byRevision(serviceUid: string, revision: number): Promise<DeploymentRecord | undefined> {
    const [row] = await this.db.select().from(deployments).where(and(eq(deployments.serviceUid, serviceUid), eq(deployments.revision, revision)));
    return row ? toRecord(row) : undefined;
  }

  /** The newest deployment of a service, whatever its phase. */
  async latest(serviceUid: string): Promise<DeploymentRecord | undefined> {
    const [row] = await this.db.select().from(deployments).where(eq(deployments.serviceUid, serviceUid)).orderBy(desc(deployments.revision)).limit(1);
    return row ? toRecord(row) : undefined;
  }

  /** The newest completed deployment: what the host should be running. */
  async lastCompleted(serviceUid: string, before?: number): Promise<DeploymentRecord | undefined> {
    const conds = [eq(deployments.serviceUid, serviceUid), eq(deployments.phase, 'completed')];
    if (before !== undefined) conds.push(sql`${deployments.revision} < ${before}`);
    const [row] = await this.db.select().from(deployments).where(and(...conds)).orderBy(desc(deployments.revision)).limit(1);
    return row ? toRecord(row) : undefined;
  }

  /** Every deployment not yet in a terminal phase (for resuming after a restart). */
  async inFlight(): Promise<DeploymentRecord[]> {
    const rows = await this.db
      .select()
      .from(deployments)
      .where(inArray(deployments.phase, ['queued', 'prepare', 'deploy', 'finalize']))
      .orderBy(asc(deployments.createdAt));
    return rows.map(toRecord);
  }

  async setPhase(id: string, phase: DeploymentPhase, detail: { reason?: string; message?: string } = {}): Promise<DeploymentRecord> {
    return (await this.commit(id, [{ phase, at: this.clock().toISOString(), ...detail }]))!;
  }

  async startStep(id: string, step: StepName): Promise<DeploymentRecord> {
    return (await this.commit(id, [{ step, status: 'running', at: this.clock().toISOString() }]))!;
  }

  async finishStep(id: string, step: StepName, status: 'succeeded' | 'failed' | 'skipped', message?: string): Promise<DeploymentRecord> {
    return (await this.commit(id, [{ step, status, at: this.clock().toISOString(), message }]))!;
  }

  async requestCancel(id: string): Promise<DeploymentRecord> {
    const record = await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      await checkFencingToken(tx);
      const row = await lockRow(tx, id);
      if (isTerminal(row.phase as DeploymentPhase)) throw new HoldfastError('Conflict', `deployment ${id} already ended (${row.phase}); nothing to cancel`);
      const [updated] = await tx.update(deployments).set({ cancelRequested: true }).where(eq(deployments.id, id)).returning();
      return toRecord(updated);
    });
    this.emit({ type: 'deployment', record, lines: [] });
    return record;
  }

  async appendLog(id: string, step: string, lines: string[]): Promise<void> {
    const at = this.clock();
    await this.commit(id, [], lines.map((line) => ({ step, at, line })));
  }

  /**
   * Writes log lines and progress changes of one deployment in one transaction (a running deployment
   * gathers them: controllers/services/deployment-journal.ts). Returns the record when it changed.
   */
  async commit(id: string, changes: readonly ProgressChange[], lines: readonly PendingLogLine[] = []): Promise<DeploymentRecord | undefined> {
    const clean = lines.flatMap((l) =>
      l.line
        .split(/\r?\n/)
        .filter((part) => part.length > 0)
        .map((part) => ({ deploymentId: id, step: l.step, at: l.at, line: this.redactText(part.length > MAX_LOG_LINE ? part.slice(0, MAX_LOG_LINE) + '…' : part) })),
    );
    if (clean.length === 0 && changes.length === 0) return undefined;
    const write = async (tx: Db) => {
      let record: DeploymentRecord | undefined;
      if (changes.length > 0) {
        const row = await lockRow(tx, id);
        const progress = applyProgress(id, toRecord(row), changes.map((c) => (c.message === undefined ? c : { ...c, message: this.redactText(c.message) })));
        const [updated] = await tx
          .update(deployments)
          .set({
            phase: progress.phase,
            steps: progress.steps.map(stripUndefined) as unknown as Row['steps'],
            startedAt: progress.startedAt ? new Date(progress.startedAt) : null,
            finishedAt: progress.finishedAt ? new Date(progress.finishedAt) : null,
            reason: progress.reason ?? null,
            message: progress.message ?? null,
          })
          .where(eq(deployments.id, id))
          .returning();
        record = toRecord(updated);
      }
      const inserted = clean.length > 0 ? await tx.insert(deploymentLogs).values(clean).returning() : [];
      return { record, inserted: inserted.map(toLogLine) };
    };
    // Log lines alone, outside a lease, are one insert: no transaction (on the embedded database a
    // transaction holds its lock through every message between the threads).
    const { record, inserted } =
      changes.length === 0 && !currentFencingToken()
        ? await write(this.db)
        : await this.db.transaction(async (txAny) => {
            const tx = txAny as unknown as Db;
            await checkFencingToken(tx);
            return write(tx);
          });
    this.emit(record ? { type: 'deployment', record, lines: inserted } : { type: 'log', deploymentId: id, lines: inserted });
    return record;
  }

  /** Refuses (FencedWrite) when the work this runs in was started under a lease that has moved on; before a host action. */
  async checkFencingToken(): Promise<void> {
    if (!currentFencingToken()) return;
    await this.db.transaction((tx) => checkFencingToken(tx as unknown as Db));
  }

  async logsSince(id: string, afterId = 0, limit = 5000): Promise<LogLine[]> {
    const rows = await this.db
      .select()
      .from(deploymentLogs)
      .where(and(eq(deploymentLogs.deploymentId, id), gt(deploymentLogs.id, afterId)))
      .orderBy(asc(deploymentLogs.id))
      .limit(limit);
    return rows.map(toLogLine);
  }

  private emit(c: DeploymentChange) {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch {
        // a failing listener must not fail the write
      }
    }
  }
}

async function lockRow(tx: Db, id: string): Promise<Row> {
  const [row] = await tx.select().from(deployments).where(eq(deployments.id, id)).for('update');
  if (!row) throw new HoldfastError('NotFound', `deployment "${id}" not found`);
  return row;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function toLogLine(r: typeof deploymentLogs.$inferSelect): LogLine {
  return { id: Number(r.id), step: r.step, at: r.at.toISOString(), line: r.line };
}

function toRecord(row: Row): DeploymentRecord {
  return {
    id: row.id,
    serviceUid: row.serviceUid,
    namespace: row.namespace,
    service: row.service,
    revision: row.revision,
    generation: row.generation,
    phase: row.phase as DeploymentPhase,
    trigger: row.trigger as DeploymentTrigger,
    actor: row.actor,
    server: row.server,
    ...(row.sourceCommit ? { sourceCommit: row.sourceCommit } : {}),
    // Written once from a FrozenInput when the record was queued (jsonb).
    frozen: row.frozen as FrozenInput,
    specHash: row.specHash,
    ...(row.rollbackOf !== null ? { rollbackOf: row.rollbackOf } : {}),
    steps: row.steps as unknown as DeploymentStep[],
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.message ? { message: row.message } : {}),
    cancelRequested: row.cancelRequested,
    createdAt: row.createdAt.toISOString(),
    ...(row.startedAt ? { startedAt: row.startedAt.toISOString() } : {}),
    ...(row.finishedAt ? { finishedAt: row.finishedAt.toISOString() } : {}),
    deadline: row.deadline.toISOString(),
  };
}
