// The BackupPolicy controller. reconcile(namespace/name) works out when the policy runs next (its
// cron schedule, UTC), writes it to status.nextScheduleTime and asks to be woken then; when that time
// has come it takes a backup, checks it, applies retention, and records the outcome in status
// (lastBackup, lastVerification, backups, conditions Ready and LastBackupSucceeded) and as Events.
// `holdfast backup run` and `holdfast backup restore` come through the same controller (BackupActions),
// so one policy never has two backups or restores running at once in this process.
import { isDue, nextScheduleTime } from '../../core/backup/schedule.js';
import { HoldfastError } from '../../core/errors.js';
import { setCondition, type Condition, type Resource } from '../../core/resource.js';
import type { BackupPolicyStatus } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { asBackupFailure, BackupFailure } from './backup-errors.js';
import { BackupRunner, type BackupEntry, type BackupPolicy, type Restored } from './backup-runner.js';

export const BACKUP_ACTOR = 'system:controller:backup';
export const READY = 'Ready';
export const LAST_BACKUP_SUCCEEDED = 'LastBackupSucceeded';
/** A backup or restore may stream for long; the reconcile that runs one is given this. */
export const BACKUP_RECONCILE_TIMEOUT_MS = 65 * 60_000;
/** A policy whose backup is running elsewhere (an API run) is looked at again this soon. */
const BUSY_RETRY_MS = 5000;

/** What the API asks of backups beyond reading policies. */
export interface BackupActions {
  /** Takes a backup now, whatever the schedule; resolves when it is written, checked and retention applied. */
  run(policy: Resource, actor: string): Promise<BackupRunResult>;
  /** Streams backup `backup` of the policy back into the volume it was taken from. */
  restore(policy: Resource, backup: string, actor: string): Promise<Restored>;
}

export interface BackupRunResult {
  backup: BackupEntry;
  server: string;
  file: string;
  verification?: { result: 'Succeeded' | 'Failed'; message: string };
  /** Backups deleted by retention after this one was written. */
  removed: string[];
}

export interface BackupControllerDeps {
  store: ResourceStore;
  deployments: DeploymentStore;
  connector: ServerConnector;
  events: EventRecorder;
  log: Logger;
  clock?: () => Date;
  /** What takes, prunes and restores backups on the hosts (BackupRunner over the connector by default). */
  runner?: BackupSteps;
}

export type BackupSteps = Pick<BackupRunner, 'locate' | 'take' | 'prune' | 'restore'>;

type Status = BackupPolicyStatus & { conditions?: Condition[] };

export class BackupController implements Reconciler, BackupActions {
  readonly kind = 'BackupPolicy';
  readonly name = 'backup';
  private readonly clock: () => Date;
  private readonly runner: BackupSteps;
  /** Policies (namespace/name) with a backup or restore running in this process. */
  private readonly busy = new Set<string>();
  private readonly stopping = new AbortController();

  constructor(private readonly deps: BackupControllerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.runner = deps.runner ?? new BackupRunner({ store: deps.store, deployments: deps.deployments, connector: deps.connector, clock: this.clock });
  }

  /** Aborts the API's runs and restores in flight (reconciles have the manager's signal). */
  stop(): void {
    this.stopping.abort(new HoldfastError('ServiceUnavailable', 'the control plane is shutting down'));
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/');
    const policy = (await this.deps.store.get('BackupPolicy', namespace, name)) as unknown as BackupPolicy | undefined;
    if (!policy || policy.metadata.deletionTimestamp) return {};
    const now = this.clock();
    const status = (policy.status ?? {}) as Status;
    const generation = policy.metadata.generation ?? 1;
    const changed = status.observedGeneration !== generation;

    const ready = await this.readiness(policy);
    if (ready.status === 'False' || policy.spec.suspend) {
      await this.writeStatus(policy, (s) => ({ ...s, nextScheduleTime: undefined }), [{ type: READY, ...ready }]);
      return {};
    }
    let next: Date;
    try {
      next = nextScheduleTime(policy.spec.schedule, now);
    } catch (err) {
      await this.writeStatus(policy, (s) => ({ ...s, nextScheduleTime: undefined }), [{ type: READY, status: 'False', reason: 'InvalidSchedule', message: (err as Error).message }]);
      return {};
    }

    if (!changed && isDue(status.nextScheduleTime, now)) {
      if (this.busy.has(key)) return { requeueAfterMs: BUSY_RETRY_MS };
      await this.execute(policy, BACKUP_ACTOR, signal).catch((err) => {
        // Recorded in status and as an Event; the next scheduled time is the retry.
        this.deps.log.warn({ policy: key, reason: (err as BackupFailure).condition, err: (err as Error).message }, 'scheduled backup failed');
      });
      next = nextScheduleTime(policy.spec.schedule, this.clock());
    } else if (!changed && status.nextScheduleTime && Date.parse(status.nextScheduleTime) > now.getTime()) {
      next = new Date(status.nextScheduleTime);
    }
    const message = `next backup at ${next.toISOString()}`;
    await this.writeStatus(policy, (s) => ({ ...s, nextScheduleTime: next.toISOString() }), [{ type: READY, status: 'True', reason: 'Scheduled', message }]);
    return { requeueAfterMs: Math.max(0, next.getTime() - this.clock().getTime()) };
  }

  async run(resource: Resource, actor: string): Promise<BackupRunResult> {
    const policy = resource as unknown as BackupPolicy;
    return this.execute(policy, actor, AbortSignal.any([this.stopping.signal, AbortSignal.timeout(BACKUP_RECONCILE_TIMEOUT_MS)]));
  }

  async restore(resource: Resource, backup: string, actor: string): Promise<Restored> {
    const policy = resource as unknown as BackupPolicy;
    const release = this.take(policy);
    try {
      const restored = await this.runner.restore(policy, backup, AbortSignal.any([this.stopping.signal, AbortSignal.timeout(BACKUP_RECONCILE_TIMEOUT_MS)]));
      await this.deps.events.record(
        resource,
        'Normal',
        'Restored',
        `backup ${restored.backup} (${restored.sizeBytes} bytes) restored into ${restored.path} of container ${restored.container} on server ${restored.server} by ${actor}`,
      );
      this.deps.log.info({ policy: `${policy.metadata.namespace}/${policy.metadata.name}`, backup, actor }, 'backup restored');
      return restored;
    } catch (err) {
      if (err instanceof HoldfastError && !(err instanceof BackupFailure) && err.reason === 'BadRequest') throw err;
      const failure = asBackupFailure(err, 'RestoreFailed');
      await this.deps.events.record(resource, 'Warning', 'RestoreFailed', `restoring backup ${backup} failed (${failure.condition}): ${failure.message}`);
      throw failure;
    } finally {
      release();
    }
  }

  /** Why a backup could be taken now or not, without asking a host. */
  private async readiness(policy: BackupPolicy): Promise<Omit<Condition, 'type' | 'lastTransitionTime'>> {
    try {
      await this.runner.locate(policy);
    } catch (err) {
      const failure = asBackupFailure(err, 'BackupFailed');
      return { status: 'False', reason: failure.condition, message: failure.message };
    }
    if (policy.spec.suspend) return { status: 'True', reason: 'Suspended', message: 'scheduled backups are suspended (spec.suspend); holdfast backup run still takes one' };
    return { status: 'True', reason: 'Scheduled', message: 'backups run on the schedule' };
  }

  private take(policy: BackupPolicy): () => void {
    const key = `${policy.metadata.namespace}/${policy.metadata.name}`;
    if (this.busy.has(key)) throw new BackupFailure('Busy', `a backup or restore of backuppolicy ${key} is running: try again when it has ended`);
    this.busy.add(key);
    return () => this.busy.delete(key);
  }

  /** Takes one backup, checks it, applies retention, and records all of it. */
  private async execute(policy: BackupPolicy, actor: string, signal: AbortSignal): Promise<BackupRunResult> {
    const release = this.take(policy);
    const about = policy as unknown as Resource;
    try {
      const startTime = this.clock().toISOString();
      await this.writeStatus(policy, (s) => ({ ...s, lastBackup: { startTime, result: 'Running' } }), []);
      let taken;
      try {
        taken = await this.runner.take(policy, signal);
      } catch (err) {
        const failure = asBackupFailure(err, 'BackupFailed');
        const completionTime = this.clock().toISOString();
        await this.writeStatus(policy, (s) => ({ ...s, lastBackup: { startTime, completionTime, result: 'Failed', message: failure.message } }), [
          { type: LAST_BACKUP_SUCCEEDED, status: 'False', reason: failure.condition, message: failure.message },
        ]);
        await this.deps.events.record(about, 'Warning', 'BackupFailed', `${failure.condition}: ${failure.message}`);
        throw failure;
      }
      const { entry, verification } = taken;
      const recorded = ((policy.status ?? {}) as Status).backups ?? [];
      let kept: BackupEntry[] = [entry, ...recorded.filter((b) => b.name !== entry.name)];
      let removed: string[] = [];
      try {
        ({ kept, removed } = await this.runner.prune(policy, kept, signal));
      } catch (err) {
        await this.deps.events.record(about, 'Warning', 'RetentionFailed', `old backups could not be deleted: ${asBackupFailure(err, 'BackupFailed').message}`);
      }
      const verifiedOk = verification?.result !== 'Failed';
      const describe = `backup ${entry.name} (${entry.sizeBytes} bytes, sha256 ${entry.sha256}) written to ${taken.file} on server ${taken.server}`;
      const lastBackup = {
        name: entry.name,
        startTime: taken.startTime.toISOString(),
        completionTime: taken.completionTime.toISOString(),
        result: verifiedOk ? 'Succeeded' : 'Failed',
        sizeBytes: entry.sizeBytes,
        sha256: entry.sha256,
        message: verifiedOk ? describe : `${describe}, but it failed verification: ${verification!.message}`,
      } as const;
      const lastVerification = verification
        ? { backup: entry.name, time: taken.completionTime.toISOString(), result: verification.result, restoreTested: false, message: verification.message }
        : undefined;
      const condition: Omit<Condition, 'lastTransitionTime'> = verifiedOk
        ? { type: LAST_BACKUP_SUCCEEDED, status: 'True', reason: 'BackupSucceeded', message: describe }
        : { type: LAST_BACKUP_SUCCEEDED, status: 'False', reason: 'VerificationFailed', message: verification!.message };
      await this.writeStatus(
        policy,
        (s) => ({ ...s, lastBackup, ...(lastVerification ? { lastVerification } : {}), backups: kept, backupCount: kept.length }),
        [condition],
      );
      if (verifiedOk) await this.deps.events.record(about, 'Normal', 'BackupSucceeded', `${describe}${actor === BACKUP_ACTOR ? '' : ` (run by ${actor})`}`);
      else await this.deps.events.record(about, 'Warning', 'VerificationFailed', `backup ${entry.name}: ${verification!.message}`);
      if (removed.length) await this.deps.events.record(about, 'Normal', 'BackupsPruned', `retention deleted ${removed.length} old backup(s): ${removed.join(', ')}`);
      this.deps.log.info({ policy: `${policy.metadata.namespace}/${policy.metadata.name}`, backup: entry.name, bytes: entry.sizeBytes, verified: entry.verified, removed: removed.length, actor }, 'backup taken');
      return { backup: entry, server: taken.server, file: taken.file, verification, removed };
    } finally {
      release();
    }
  }

  /** Writes status (with observedGeneration) through `change`, retrying on conflicts; skips a write that changes nothing. */
  private async writeStatus(policy: BackupPolicy, change: (s: Status) => Status, conditions: Array<Omit<Condition, 'lastTransitionTime'>>): Promise<void> {
    const { namespace, name, uid } = policy.metadata;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.deps.store.get('BackupPolicy', namespace, name);
      if (!current || current.metadata.uid !== uid) return;
      const before = (current.status ?? {}) as Status;
      const now = this.clock();
      let next = change({ ...before });
      for (const c of conditions) next.conditions = setCondition(next.conditions, { ...c, observedGeneration: current.metadata.generation ?? 1 }, now);
      next = { ...next, observedGeneration: current.metadata.generation ?? 1 };
      const cleaned = JSON.parse(JSON.stringify(next)) as Status;
      if (JSON.stringify(cleaned) === JSON.stringify(before)) return;
      try {
        await this.deps.store.replaceStatus({ ...current, status: cleaned } as Resource, { actor: BACKUP_ACTOR, skipAudit: true });
        return;
      } catch (err) {
        if ((err as { reason?: string }).reason !== 'Conflict') throw err;
      }
    }
    throw new HoldfastError('Conflict', `status of backuppolicy ${namespace}/${name} kept changing while it was written; retrying`);
  }
}
