// What a GitRepository's status says after a sync: revisions, inventory, conditions (Ready,
// Reconciling, Stalled, with CamelCase reasons, as Flux writes them) and the last syncs. Pure.
import { setCondition, type Condition } from '../resource.js';
import type { GitRepositoryStatus, GitRepositoryStatusHistory } from '../schema/types.generated.js';
import type { InventoryEntry } from './inventory.js';
import type { ObjectDrift } from './source-drift.js';
import type { WindowState } from './sync-windows.js';

export type SyncTrigger = GitRepositoryStatusHistory['trigger'];
export type SyncRecord = GitRepositoryStatusHistory;

export const HISTORY_LIMIT = 10;

/** Set (to a timestamp) by `holdfast reconcile gitrepository/NAME`: sync now; status.lastHandledReconcileAt answers it. */
export const RECONCILE_REQUESTED_AT = 'holdfast.dev/reconcile-requested-at';

/**
 * Set beside RECONCILE_REQUESTED_AT by a replica that heard a webhook (or a watched save) but does
 * not run the syncs: `<trigger>@<requested-at>`, so the replica that does records the right trigger.
 */
export const RECONCILE_REQUESTED_BY = 'holdfast.dev/reconcile-requested-by';

/** The annotations that ask the replica running the syncs for one, made by `trigger` at `at`. */
export function syncRequestAnnotations(trigger: 'webhook' | 'watch', at: Date): Record<string, string> {
  const requestedAt = at.toISOString();
  return { [RECONCILE_REQUESTED_AT]: requestedAt, [RECONCILE_REQUESTED_BY]: `${trigger}@${requestedAt}` };
}

export interface SyncFailureInfo {
  /** CamelCase, e.g. GitOperationFailed, ValidationFailed, PruneRefused. */
  reason: string;
  message: string;
  /** The same revision would fail again: wait for a new commit or spec instead of retrying. */
  stalled: boolean;
}

export interface SyncOutcome {
  record: SyncRecord;
  generation: number;
  /** The annotation value a manual sync answered. */
  handledReconcileAt?: string;
  /** Set when the revision was applied in full. */
  inventory?: InventoryEntry[];
  /** Set when the revision was applied in full: what driftPolicy report left changed. */
  drift?: ObjectDrift[];
  failure?: SyncFailureInfo;
}

/** The status after a sync. */
export function statusAfterSync(prev: GitRepositoryStatus | undefined, outcome: SyncOutcome, now: Date): GitRepositoryStatus {
  const { record, failure } = outcome;
  let conditions: Condition[] | undefined = prev?.conditions;
  if (failure) {
    conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: failure.reason, message: failure.message.slice(0, 32768), observedGeneration: outcome.generation }, now);
    conditions = setCondition(
      conditions,
      failure.stalled
        ? { type: 'Reconciling', status: 'False', reason: failure.reason, message: 'waiting for a new commit or a change of the spec', observedGeneration: outcome.generation }
        : { type: 'Reconciling', status: 'True', reason: 'ProgressingWithRetry', message: 'the sync is tried again at the next interval', observedGeneration: outcome.generation },
      now,
    );
    conditions = setCondition(
      conditions,
      failure.stalled
        ? { type: 'Stalled', status: 'True', reason: failure.reason, message: failure.message.slice(0, 32768), observedGeneration: outcome.generation }
        : { type: 'Stalled', status: 'False', reason: 'Retrying', message: '', observedGeneration: outcome.generation },
      now,
    );
  } else {
    const message = `applied revision ${record.revision}`;
    conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Succeeded', message, observedGeneration: outcome.generation }, now);
    conditions = setCondition(conditions, { type: 'Reconciling', status: 'False', reason: 'Succeeded', message, observedGeneration: outcome.generation }, now);
    conditions = setCondition(conditions, { type: 'Stalled', status: 'False', reason: 'Succeeded', message: '', observedGeneration: outcome.generation }, now);
  }
  // A poll or a watched ref that found nothing new is no news; a change of spec or a request is.
  const recorded = record.result !== 'Unchanged' || (record.trigger !== 'interval' && record.trigger !== 'watch');
  return {
    ...prev,
    observedGeneration: outcome.generation,
    conditions,
    ...(record.revision ? { lastAttemptedRevision: record.revision } : {}),
    ...(!failure && record.revision ? { lastAppliedRevision: record.revision } : {}),
    ...(outcome.handledReconcileAt ? { lastHandledReconcileAt: outcome.handledReconcileAt } : {}),
    ...(outcome.inventory ? { inventory: outcome.inventory } : {}),
    ...(outcome.drift ? { drift: outcome.drift } : {}),
    history: recorded ? [record, ...(prev?.history ?? [])].slice(0, HISTORY_LIMIT) : prev?.history ?? [],
  };
}

/** Reconciling=True while a sync applies a revision the status does not show yet. */
export function statusSyncing(prev: GitRepositoryStatus | undefined, revision: string, generation: number, now: Date): GitRepositoryStatus {
  return {
    ...prev,
    conditions: setCondition(prev?.conditions, { type: 'Reconciling', status: 'True', reason: 'Progressing', message: `applying revision ${revision}`, observedGeneration: generation }, now),
  };
}

/**
 * A revision applied with spec.wait whose Services are not all Ready yet: Reconciling=True; the
 * revision is the attempted one and its inventory is recorded (what it wrote is on the store), the
 * applied revision stays the last that passed.
 */
export function statusHealthCheckPending(
  prev: GitRepositoryStatus | undefined,
  gate: { revision: string; services: number; timeoutMs: number; inventory: InventoryEntry[] },
  generation: number,
  now: Date,
): GitRepositoryStatus {
  const message = `revision ${gate.revision} applied; waiting up to ${Math.round(gate.timeoutMs / 1000)}s for the ${gate.services} Service(s) it changed to be Ready`;
  return {
    ...prev,
    lastAttemptedRevision: gate.revision,
    inventory: gate.inventory,
    conditions: setCondition(prev?.conditions, { type: 'Reconciling', status: 'True', reason: 'HealthCheckPending', message, observedGeneration: generation }, now),
  };
}

/** Suspended: nothing is followed; what was applied stays. */
export function statusSuspended(prev: GitRepositoryStatus | undefined, generation: number, now: Date): GitRepositoryStatus {
  return {
    ...prev,
    observedGeneration: generation,
    conditions: setCondition(prev?.conditions, { type: 'Reconciling', status: 'False', reason: 'Suspended', message: 'spec.suspend is true: the repository is not followed', observedGeneration: generation }, now),
  };
}

/** What status.syncWindow says for a window state; nothing when the source has no windows. */
export function syncWindowStatus(state: WindowState, hasWindows: boolean): GitRepositoryStatus['syncWindow'] {
  if (!hasWindows) return undefined;
  return state.denied ? { denied: true, closesAt: state.closesAt.toISOString() } : { denied: false, ...(state.opensAt ? { opensAt: state.opensAt.toISOString() } : {}) };
}

/** A deny window holds the sync back: nothing fetched; Ready stays as the last sync left it. */
export function statusWindowDenied(prev: GitRepositoryStatus | undefined, closesAt: Date, generation: number, now: Date): GitRepositoryStatus {
  const message = `a deny window of spec.windows is open until ${closesAt.toISOString()}: only manual syncs (holdfast reconcile) run`;
  return {
    ...prev,
    syncWindow: { denied: true, closesAt: closesAt.toISOString() },
    conditions: setCondition(prev?.conditions, { type: 'Reconciling', status: 'False', reason: 'SyncWindowDenied', message, observedGeneration: generation }, now),
  };
}

/** spec.windows cannot be read: nothing syncs until the spec changes. */
export function statusWindowsInvalid(prev: GitRepositoryStatus | undefined, message: string, generation: number, now: Date): GitRepositoryStatus {
  let conditions = setCondition(prev?.conditions, { type: 'Ready', status: 'False', reason: 'InvalidSyncWindow', message, observedGeneration: generation }, now);
  conditions = setCondition(conditions, { type: 'Reconciling', status: 'False', reason: 'InvalidSyncWindow', message: 'waiting for a change of spec.windows', observedGeneration: generation }, now);
  conditions = setCondition(conditions, { type: 'Stalled', status: 'True', reason: 'InvalidSyncWindow', message, observedGeneration: generation }, now);
  return { ...prev, conditions };
}

/**
 * Waiting for the sources of spec.dependsOn (nothing fetched, nothing applied); a cycle stalls.
 * observedGeneration stays, so the sync that follows still counts a new spec as a change.
 */
export function statusWaitingForDependencies(prev: GitRepositoryStatus | undefined, wait: { message: string; cycle: boolean }, generation: number, now: Date): GitRepositoryStatus {
  const reason = wait.cycle ? 'DependencyCycle' : 'DependencyNotReady';
  let conditions = setCondition(prev?.conditions, { type: 'Ready', status: 'False', reason, message: wait.message, observedGeneration: generation }, now);
  conditions = setCondition(conditions, wait.cycle ? { type: 'Reconciling', status: 'False', reason, message: 'waiting for a change of dependsOn', observedGeneration: generation } : { type: 'Reconciling', status: 'True', reason: 'WaitingForDependencies', message: wait.message, observedGeneration: generation }, now);
  conditions = setCondition(conditions, wait.cycle ? { type: 'Stalled', status: 'True', reason, message: wait.message, observedGeneration: generation } : { type: 'Stalled', status: 'False', reason: 'WaitingForDependencies', message: '', observedGeneration: generation }, now);
  return { ...prev, conditions };
}

/**
 * What starts this sync, or undefined when there is nothing to do: an interval poll of a revision
 * that already failed and cannot succeed as it is (Stalled) is not tried again.
 */
export function syncTrigger(input: {
  pending?: SyncTrigger;
  requestedAt?: string;
  /** The RECONCILE_REQUESTED_BY annotation: a request's trigger when it names this request. */
  requestedBy?: string;
  status?: GitRepositoryStatus;
  generation: number;
  revision: string;
}): SyncTrigger | undefined {
  if (input.pending) return input.pending;
  if (input.requestedAt && input.requestedAt !== input.status?.lastHandledReconcileAt) {
    const by = /^(webhook|watch)@(.+)$/.exec(input.requestedBy ?? '');
    return by && by[2] === input.requestedAt ? (by[1] as SyncTrigger) : 'manual';
  }
  if (input.generation !== input.status?.observedGeneration) return 'change';
  const stalled = input.status?.conditions?.find((c) => c.type === 'Stalled')?.status === 'True';
  if (stalled && input.status?.lastAttemptedRevision === input.revision) return undefined;
  return 'interval';
}
