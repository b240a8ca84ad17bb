// The BackupPolicy controller. reconcile(namespace/name) works out when the policy runs next (its
// cron schedule, UTC), writes it to status.nextScheduleTime and asks to be woken then; when that time
// has come it takes a backup, checks it, applies retention, and records the outcome in status
// (lastBackup, lastVerification, backups, conditions Ready and LastBackupSucceeded) and as Events.
// `holdfast backup run` and `holdfast backup restore` come through the same controller (BackupActions),
// so one policy never has two backups or restores running at once in this process.
import { heldFor } from '../../core/backup/consistency.js';
import { isDue, nextScheduleTime } from '../../core/backup/schedule.js';
import { HoldfastError } from '../../core/errors.js';
import { setCondition, type AnyResource, type Condition, type Resource } from '../../core/resource.js';
import type { BackupPolicyStatus } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { asBackupFailure, BackupFailure } from './backup-errors.js';
import type { Restored } from '../../core/backup/restored.js';
import { BackupRunner, type BackupCopy, type BackupEntry, type BackupPolicy, type RestoreOptions } from './backup-runner.js';
import { RunRecord, withRun, type BackupRun } from './run-record.js';

export const BACKUP_ACTOR = 'system:controller:backup';
export const READY = 'Ready';
export const LAST_BACKUP_SUCCEEDED = 'LastBackupSucceeded';
/** The newest backup was read back (and restored into a scratch volume, when asked) successfully. */
export const VERIFIED = 'Verified';
/** A backup or restore may stream for long; the reconcile that runs one is given this. */
export const BACKUP_RECONCILE_TIMEOUT_MS = 65 * 60_000;
/** A policy whose backup is running elsewhere (an API run) is looked at again this soon. */
const BUSY_RETRY_MS = 5000;
/**
 * A policy whose next run is further off is looked at again after this long: a timer holds at most
 * 2^31-1 ms (24.8 days), and Node fires a longer one at once, which made a yearly policy reconcile
 * in a loop.
 */
const MAX_WAIT_MS = 24 * 60 * 60_000;

/** `database shop_copy (made for it) of service db-staging: container … on server …`, for events and audit rows. */
export function restoredInto(r: Restored): string {
  return `${r.path}${r.createdDatabase ? ' (made for it)' : ''} of service ${r.service}: container ${r.container} on server ${r.server}`;
}

/** What the API asks of backups beyond reading policies. */
export interface BackupActions {
  /** Takes a backup now, whatever the schedule; resolves when it is written, checked and retention applied. */
  run(policy: AnyResource, actor: string): Promise<BackupRunResult>;
  /**
   * Streams backup `backup` of the policy (from destination `options.from`, else the first that
   * holds it) back into what it was taken from, or a dump into the database or Service the options name.
   */
  restore(policy: AnyResource, backup: string, actor: string, options?: RestoreOptions): Promise<Restored>;
}

export interface BackupRunResult {
  backup: BackupEntry;
  /** Where the first good copy is: `/b/x.tar on server edge`, `s3://bucket/x.tar`. */
  location: string;
  /** Each destination's copy. */
  copies: BackupCopy[];
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
  /** A Secret's value (the age keys of spec.encryption). */
  secretValue?: (namespace: string, name: string, key: string) => Promise<string>;
}

export type BackupSteps = Pick<BackupRunner, 'locate' | 'take' | 'prune' | 'restore' | 'restoreTest' | 'removeStalePartials'>;

type Status = BackupPolicyStatus & { conditions?: Condition[] };

export class BackupController implements Reconciler, BackupActions {
  readonly kind = 'BackupPolicy';
  readonly name = 'backup';
  private readonly clock: () => Date;
  private readonly runner: BackupSteps;
  /** Policies (namespace/name) with a backup or restore running in this process. */
  private readonly busy = new Set<string>();
  private readonly stopping = new AbortController();
  /** A run recorded as Running that started before this is one a stopped control plane left. */
  private readonly startedAt: Date;

  constructor(private readonly deps: BackupControllerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.startedAt = this.clock();
    this.runner = deps.runner ?? new BackupRunner({ store: deps.store, deployments: deps.deployments, connector: deps.connector, clock: this.clock, secretValue: deps.secretValue });
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
    if (status.lastBackup?.result === 'Running' && !this.busy.has(key) && Date.parse(status.lastBackup.startTime ?? '') < this.startedAt.getTime()) {
      await this.recordInterrupted(policy, status.lastBackup.startTime!);
    }

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
    return { requeueAfterMs: Math.min(MAX_WAIT_MS, Math.max(0, next.getTime() - this.clock().getTime())) };
  }

  async run(resource: Resource, actor: string): Promise<BackupRunResult> {
    const policy = resource as unknown as BackupPolicy;
    return this.execute(policy, actor, AbortSignal.any([this.stopping.signal, AbortSignal.timeout(BACKUP_RECONCILE_TIMEOUT_MS)]));
  }

  async restore(resource: Resource, backup: string, actor: string, options: RestoreOptions = {}): Promise<Restored> {
    const policy = resource as unknown as BackupPolicy;
    const release = this.take(policy);
    try {
      const restored = await this.runner.restore(policy, backup, AbortSignal.any([this.stopping.signal, AbortSignal.timeout(BACKUP_RECONCILE_TIMEOUT_MS)]), options);
      await this.deps.events.record(resource, 'Normal', 'Restored', `backup ${restored.backup} (${restored.sizeBytes} bytes, from destination ${restored.destination}) restored into ${restoredInto(restored)} by ${actor}`);
      this.deps.log.info({ policy: `${policy.metadata.namespace}/${policy.metadata.name}`, backup, actor, service: restored.service, container: restored.container, database: restored.database }, 'backup restored');
      return restored;
    } catch (err) {
      // A request that cannot be done is the caller's to fix: answered, not recorded as a failed restore.
      if (err instanceof HoldfastError && !(err instanceof BackupFailure) && (err.reason === 'BadRequest' || err.reason === 'Invalid')) throw err;
      const failure = asBackupFailure(err, 'RestoreFailed');
      await this.deps.events.record(resource, 'Warning', 'RestoreFailed', `restoring backup ${backup} failed (${failure.condition}): ${failure.message}`);
      throw failure;
    } finally {
      release();
    }
  }

  /**
   * A backup the control plane was taking when it stopped (killed, crashed) is recorded as failed,
   * and the partial file it left on the destination is removed: it never got a backup's name.
   */
  private async recordInterrupted(policy: BackupPolicy, startTime: string): Promise<void> {
    const message = `the control plane stopped while this backup was being taken (started ${startTime}); nothing of it was kept`;
    await this.runner.removeStalePartials(policy).catch((err) => {
      this.deps.log.warn({ policy: `${policy.metadata.namespace}/${policy.metadata.name}`, err: (err as Error).message }, 'partial backup files of an interrupted run could not be removed');
    });
    const completionTime = this.clock().toISOString();
    const cut = (run: BackupRun): BackupRun => (run.startTime === startTime && run.result === 'Running' ? { ...run, completionTime, result: 'Failed', reason: 'Interrupted', message } : run);
    await this.writeStatus(policy, (s) => ({ ...s, lastBackup: { startTime, completionTime, result: 'Failed', message }, ...(s.runs ? { runs: s.runs.map(cut) } : {}) }), [
      { type: LAST_BACKUP_SUCCEEDED, status: 'False', reason: 'Interrupted', message },
    ]);
    await this.deps.events.record(policy, 'Warning', 'BackupFailed', `Interrupted: ${message}`);
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
    try {
      const startTime = this.clock().toISOString();
      const record = new RunRecord(this.clock);
      const run: BackupRun = { actor, startTime, result: 'Running' };
      await this.writeStatus(policy, (s) => ({ ...s, lastBackup: { startTime, result: 'Running' }, runs: withRun(s.runs, run) }), []);
      await this.deps.events.record(policy, 'Normal', 'BackupStarted', `backup of ${describeTarget(policy)} started${actor === BACKUP_ACTOR ? ' on schedule' : ` by ${actor}`}`);
      let taken;
      try {
        taken = await this.runner.take(policy, signal, record);
      } catch (err) {
        const failure = asBackupFailure(err, 'BackupFailed');
        const completionTime = this.clock().toISOString();
        record.close(failure.message);
        const failed: BackupRun = { ...run, completionTime, result: 'Failed', reason: failure.condition, message: failure.message, steps: record.steps };
        await this.writeStatus(policy, (s) => ({ ...s, lastBackup: { startTime, completionTime, result: 'Failed', message: failure.message }, runs: withRun(s.runs, failed) }), [
          { type: LAST_BACKUP_SUCCEEDED, status: 'False', reason: failure.condition, message: failure.message },
        ]);
        await this.deps.events.record(policy, 'Warning', 'BackupFailed', `${failure.condition}: ${failure.message} (steps: ${record.summary()})`);
        throw failure;
      }
      const { entry } = taken;
      let verification = taken.verification;
      // A restore test is worth running only on a backup that read back whole.
      if (policy.spec.verification?.restoreTest && verification?.result !== 'Failed') {
        const tested = await record.step(
          'restoreTest',
          () => this.runner.restoreTest(policy, taken, signal),
          (t) => ({ message: t.message, failed: t.result !== 'Succeeded' }),
        );
        verification = { ...tested, message: verification ? `${verification.message}; ${tested.message}` : tested.message };
        entry.verified = tested.result === 'Succeeded';
      }
      const recorded = ((policy.status ?? {}) as Status).backups ?? [];
      let kept: BackupEntry[] = [entry, ...recorded.filter((b) => b.name !== entry.name)];
      let removed: string[] = [];
      let pruneFailures: Array<{ destination?: string; message: string }> = [];
      try {
        // A prune step per destination, as the uploads.
        ({ kept, removed, failures: pruneFailures } = await this.runner.prune(policy, kept, signal, record));
      } catch (err) {
        const message = asBackupFailure(err, 'BackupFailed').message;
        record.begin('prune').fail(message);
        pruneFailures = [{ message }];
      }
      const verifiedOk = verification?.result !== 'Failed';
      const written = taken.copies.filter((c) => c.location && (c.result === 'Succeeded' || c.reason === 'VerificationFailed'));
      const notWritten = taken.copies.filter((c) => !written.includes(c));
      const where = taken.copies.length > 1 ? written.map((c) => `${c.location} (${c.destination})`).join(', ') : taken.location;
      const missed = notWritten.length ? `; not copied to ${notWritten.map((c) => `${c.destination} (${c.reason}: ${c.message})`).join(', ')}` : '';
      const describe = `backup ${entry.name} (${entry.sizeBytes} bytes, sha256 ${entry.sha256}${entry.encrypted ? ', encrypted' : ''}) written to ${where}${missed}${taken.pausedSeconds !== undefined ? `; ${heldFor(policy.spec.consistency!.mode, taken.pausedSeconds)}` : ''}`;
      const lastBackup = {
        name: entry.name,
        startTime: taken.startTime.toISOString(),
        completionTime: taken.completionTime.toISOString(),
        result: verifiedOk ? 'Succeeded' : 'Failed',
        sizeBytes: entry.sizeBytes,
        sha256: entry.sha256,
        ...(entry.plaintextSha256 ? { plaintextSha256: entry.plaintextSha256 } : {}),
        ...(taken.pausedSeconds !== undefined ? { pausedSeconds: taken.pausedSeconds } : {}),
        message: verifiedOk ? describe : `${describe}, but it failed verification: ${verification!.message}`,
        copies: taken.copies,
      } as const;
      const lastVerification = verification
        ? { backup: entry.name, time: this.clock().toISOString(), result: verification.result, restoreTested: verification.restoreTested === true, message: verification.message }
        : undefined;
      const verified: Array<Omit<Condition, 'lastTransitionTime'>> = verification
        ? [{ type: VERIFIED, status: verification.result === 'Succeeded' ? 'True' : 'False', reason: verification.result === 'Succeeded' ? (verification.restoreTested ? 'RestoreTestPassed' : 'ReadBack') : verification.restoreTested ? 'RestoreTestFailed' : 'VerificationFailed', message: `backup ${entry.name}: ${verification.message}` }]
        : [];
      const condition: Omit<Condition, 'lastTransitionTime'> = !verifiedOk
        ? { type: LAST_BACKUP_SUCCEEDED, status: 'False', reason: 'VerificationFailed', message: verification!.message }
        : notWritten.length
          ? { type: LAST_BACKUP_SUCCEEDED, status: 'True', reason: 'CopyFailed', message: describe }
          : { type: LAST_BACKUP_SUCCEEDED, status: 'True', reason: 'BackupSucceeded', message: describe };
      const done: BackupRun = {
        ...run,
        backup: entry.name,
        completionTime: this.clock().toISOString(),
        result: lastBackup.result,
        ...(verifiedOk ? {} : { reason: 'VerificationFailed' }),
        message: lastBackup.message,
        sizeBytes: entry.sizeBytes,
        sha256: entry.sha256,
        steps: record.steps,
      };
      await this.writeStatus(
        policy,
        (s) => ({ ...s, lastBackup, ...(lastVerification ? { lastVerification } : {}), backups: kept, backupCount: kept.length, runs: withRun(s.runs, done) }),
        [condition, ...verified],
      );
      if (verifiedOk) await this.deps.events.record(policy, 'Normal', 'BackupSucceeded', `${describe}${actor === BACKUP_ACTOR ? '' : ` (run by ${actor})`} (steps: ${record.summary()})`);
      else await this.deps.events.record(policy, 'Warning', 'VerificationFailed', `backup ${entry.name}: ${verification!.message}`);
      for (const c of notWritten) await this.deps.events.record(policy, 'Warning', 'CopyFailed', `backup ${entry.name} was not copied to destination ${c.destination} (${c.reason}): ${c.message}`);
      if (removed.length) await this.deps.events.record(policy, 'Normal', 'BackupsPruned', `retention deleted ${removed.length} old backup(s): ${removed.join(', ')}`);
      for (const f of pruneFailures) await this.deps.events.record(policy, 'Warning', 'RetentionFailed', `old backups could not be deleted${f.destination ? ` from destination ${f.destination}` : ''}: ${f.message}`);
      this.deps.log.info({ policy: `${policy.metadata.namespace}/${policy.metadata.name}`, backup: entry.name, bytes: entry.sizeBytes, verified: entry.verified, removed: removed.length, actor }, 'backup taken');
      return { backup: entry, location: taken.location, copies: taken.copies, verification, removed };
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

/** `volume "data" of service web`, `database shop of service db`. */
function describeTarget(policy: BackupPolicy): string {
  const { target, service } = policy.spec;
  const what = target.database ? (target.database.name ? `database ${target.database.name}` : 'every database') : `volume "${target.volume}"`;
  return `${what} of service ${service}`;
}
