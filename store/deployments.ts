// Deployment records: the state machine of one rollout (queued → prepare → deploy → finalize →
// completed | failed | canceled), its steps with their own status and times, its log lines, and the
// frozen input it deployed. The frozen input is written once, when the record is queued.
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import { HoldfastError } from '../core/errors.js';
import type { Db } from './database.js';
import { deploymentLogs, deployments } from './schema.js';

export const PHASES = ['queued', 'prepare', 'deploy', 'finalize', 'completed', 'failed', 'canceled'] as const;
export type DeploymentPhase = (typeof PHASES)[number];
export const TERMINAL_PHASES: readonly DeploymentPhase[] = ['completed', 'failed', 'canceled'];
export const isTerminal = (p: DeploymentPhase) => TERMINAL_PHASES.includes(p);

export const STEP_NAMES = ['clone', 'build', 'pull', 'volume', 'start', 'health', 'finalize'] as const;
export type StepName = (typeof STEP_NAMES)[number];
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export type DeploymentTrigger = 'user' | 'api' | 'webhook' | 'watch' | 'controller' | 'rollback';

export interface DeploymentStep {
  name: StepName;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface DeploymentRecord {
  id: string;
  serviceUid: string;
  namespace: string;
  service: string;
  revision: number;
  generation: number;
  phase: DeploymentPhase;
  trigger: DeploymentTrigger;
  actor: string;
  server: string;
  sourceCommit?: string;
  frozen: unknown;
  specHash: string;
  rollbackOf?: number;
  steps: DeploymentStep[];
  reason?: string;
  message?: string;
  cancelRequested: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  deadline: string;
}

export interface LogLine {
  id: number;
  step: string;
  at: string;
  line: string;
}

export interface NewDeployment {
  service: { uid: string; namespace: string; name: string };
  generation: number;
  trigger: DeploymentTrigger;
  actor: string;
  server: string;
  sourceCommit?: string;
  frozen: unknown;
  specHash: string;
  rollbackOf?: number;
  deadlineMs: number;
}

export type DeploymentChange = { type: 'deployment'; record: DeploymentRecord } | { type: 'log'; deploymentId: string; lines: LogLine[] };

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
    this.emit({ type: 'deployment', record });
    return record;
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
    return this.update(id, (row) => {
      if (isTerminal(row.phase as DeploymentPhase)) {
        throw new HoldfastError('Conflict', `deployment ${id} already ended (${row.phase})`);
      }
      const now = this.clock();
      const next: Partial<Row> = { phase };
      if (phase !== 'queued' && !row.startedAt) next.startedAt = now;
      if (isTerminal(phase)) {
        next.finishedAt = now;
        // Steps still running or pending when a deployment ends did not happen.
        next.steps = (row.steps as unknown as DeploymentStep[]).map((s) =>
          s.status === 'running' ? { ...s, status: phase === 'completed' ? 'succeeded' : 'failed', finishedAt: now.toISOString() } : s.status === 'pending' ? { ...s, status: 'skipped' } : s,
        ) as unknown as Row['steps'];
      }
      if (detail.reason !== undefined) next.reason = detail.reason;
      if (detail.message !== undefined) next.message = this.redactText(detail.message);
      return next;
    });
  }

  async startStep(id: string, step: StepName): Promise<DeploymentRecord> {
    return this.updateStep(id, step, (s, now) => ({ ...s, status: 'running', startedAt: s.startedAt ?? now, finishedAt: undefined, message: undefined }));
  }

  async finishStep(id: string, step: StepName, status: 'succeeded' | 'failed' | 'skipped', message?: string): Promise<DeploymentRecord> {
    return this.updateStep(id, step, (s, now) => ({ ...s, status, startedAt: s.startedAt ?? now, finishedAt: now, ...(message ? { message: this.redactText(message) } : {}) }));
  }

  async requestCancel(id: string): Promise<DeploymentRecord> {
    return this.update(id, (row) => {
      if (isTerminal(row.phase as DeploymentPhase)) throw new HoldfastError('Conflict', `deployment ${id} already ended (${row.phase}); nothing to cancel`);
      return { cancelRequested: true };
    });
  }

  async appendLog(id: string, step: string, lines: string[]): Promise<void> {
    const clean = lines.flatMap((l) => l.split(/\r?\n/)).filter((l) => l.length > 0).map((l) => (l.length > MAX_LOG_LINE ? l.slice(0, MAX_LOG_LINE) + '…' : l));
    if (clean.length === 0) return;
    const at = this.clock();
    const inserted = await this.db
      .insert(deploymentLogs)
      .values(clean.map((line) => ({ deploymentId: id, step, at, line: this.redactText(line) })))
      .returning();
    this.emit({ type: 'log', deploymentId: id, lines: inserted.map(toLogLine) });
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

  private async updateStep(id: string, step: StepName, change: (s: DeploymentStep, now: string) => DeploymentStep): Promise<DeploymentRecord> {
    return this.update(id, (row) => {
      const now = this.clock().toISOString();
      const steps = (row.steps as unknown as DeploymentStep[]).map((s) => (s.name === step ? stripUndefined(change(s, now)) : s));
      return { steps: steps as unknown as Row['steps'] };
    });
  }

  private async update(id: string, change: (row: Row) => Partial<Row>): Promise<DeploymentRecord> {
    const record = await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      const [row] = await tx.select().from(deployments).where(eq(deployments.id, id)).for('update');
      if (!row) throw new HoldfastError('NotFound', `deployment "${id}" not found`);
      const next = change(row);
      const [updated] = await tx.update(deployments).set(next).where(eq(deployments.id, id)).returning();
      return toRecord(updated);
    });
    this.emit({ type: 'deployment', record });
    return record;
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
    frozen: row.frozen,
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
