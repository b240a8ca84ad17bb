// The health gate of a GitRepository with `wait: true`: which Services a revision changed, whether
// each is Ready for the generation the revision wrote, and which earlier deployment a failed one
// goes back to. Judged from the Service's own status and deployment records; pure.
import type { ServiceStatus } from '../schema/types.generated.js';
import type { InventoryEntry } from './inventory.js';

export type GateVerdict = { state: 'ready' } | { state: 'pending'; message: string } | { state: 'failed'; message: string };

/** The Services whose last write came from `revision` (the inventory records which revision wrote each object). */
export function servicesChangedBy(inventory: readonly InventoryEntry[], revision: string): Array<{ namespace: string; name: string }> {
  return inventory.filter((e) => e.kind === 'Service' && e.namespace && e.revision === revision).map((e) => ({ namespace: e.namespace!, name: e.name }));
}

/**
 * Ready when the Service says Ready for `generation`; failed as soon as the deployment of that
 * generation failed or was canceled, or the Service rolled itself back (update.autoRollback);
 * pending otherwise (the deadline is the caller's).
 */
export function serviceGateVerdict(generation: number, status: ServiceStatus | undefined): GateVerdict {
  const condition = (type: string) => status?.conditions?.find((c) => c.type === type);
  const ready = condition('Ready');
  const current = status?.currentDeployment;
  if ((status?.observedGeneration ?? 0) < generation) return { state: 'pending', message: `generation ${generation} not observed yet` };
  if (condition('RolledBack')?.status === 'True') return { state: 'failed', message: `the Service rolled itself back: ${condition('RolledBack')!.message}` };
  if (current?.generation === generation && (current.phase === 'failed' || current.phase === 'canceled')) {
    const degraded = condition('Degraded');
    return { state: 'failed', message: `deployment ${current.name} ${current.phase}${degraded?.message ? `: ${degraded.message}` : ''}` };
  }
  if (ready?.status === 'True' && (ready.observedGeneration ?? generation) >= generation) return { state: 'ready' };
  return { state: 'pending', message: ready ? `not Ready (${ready.reason}): ${ready.message}` : 'no Ready condition yet' };
}

export type GateOutcome = { state: 'ready' } | { state: 'pending'; waitingFor: string[] } | { state: 'failed'; problems: string[] };

/**
 * The gate over every Service a revision changed, judged once: failed as soon as one Service
 * fails, or when the deadline has passed with some not Ready; ready when all are; pending otherwise.
 * One line per Service that fails or is waited for.
 */
export function gateOutcome(verdicts: ReadonlyArray<{ service: string; verdict: GateVerdict }>, timedOut: boolean, timeoutMs: number): GateOutcome {
  const failed = verdicts.filter((v) => v.verdict.state === 'failed');
  if (failed.length) return { state: 'failed', problems: failed.map((v) => `${v.service}: ${(v.verdict as { message: string }).message}`) };
  const pending = verdicts.filter((v) => v.verdict.state === 'pending');
  if (!pending.length) return { state: 'ready' };
  if (timedOut) return { state: 'failed', problems: pending.map((v) => `${v.service}: not Ready within the timeout of ${Math.round(timeoutMs / 1000)}s (${(v.verdict as { message: string }).message})`) };
  return { state: 'pending', waitingFor: pending.map((v) => `${v.service}: ${(v.verdict as { message: string }).message}`) };
}

/** The facts of a deployment record the rollback choice needs, newest first. */
export interface GateDeployment {
  revision: number;
  generation: number;
  phase: string;
  trigger: string;
  rollbackOf?: number;
}

export type RollbackChoice =
  | { action: 'rollback'; badRevision: number }
  | { action: 'none'; why: string };

/**
 * What to do for a Service whose `generation` failed the gate: roll back what that generation
 * deployed (to the completed deployment before it, which the caller finds), or nothing when no
 * deployment of it started or it is already rolled back. Heals (trigger controller) change nothing.
 */
export function rollbackChoice(generation: number, newestFirst: readonly GateDeployment[]): RollbackChoice {
  const decisive = newestFirst.find((d) => d.trigger !== 'controller');
  if (decisive && decisive.rollbackOf !== undefined && decisive.generation === generation && decisive.phase !== 'failed' && decisive.phase !== 'canceled') {
    return { action: 'none', why: `already rolled back to revision ${decisive.rollbackOf}` };
  }
  const bad = newestFirst.find((d) => d.generation === generation && d.rollbackOf === undefined && d.trigger !== 'controller');
  if (!bad) return { action: 'none', why: `no deployment of generation ${generation} started, so the host still runs the earlier input` };
  return { action: 'rollback', badRevision: bad.revision };
}
