// What the overview counts: one state per Service and per Server, derived from status conditions
// the controllers write. Servers are classified by the same rule as the CLI's `server status`
// (core/readiness). Pure.
import { classify, type ReadinessClass } from '../../../core/readiness.js';
import type { Condition, Server, Service } from '../api/types.js';

export type ServiceState = 'failed' | 'progressing' | 'drifted' | 'synced' | 'pending';
export type ServerState = ReadinessClass;

export interface Judgement<S> {
  state: S;
  /** One line on why, for tooltips and detail headers. */
  reason: string;
}

const ACTIVE_PHASES = new Set(['queued', 'prepare', 'deploy', 'finalize']);

const condition = (conditions: Condition[] | undefined, type: string) => conditions?.find((c) => c.type === type);
const said = (c: Condition | undefined, fallback: string) => c?.message || c?.reason || fallback;

export function serviceState(service: Pick<Service, 'metadata' | 'status'>): Judgement<ServiceState> {
  const status = service.status;
  const conditions = status?.conditions;
  const ready = condition(conditions, 'Ready');
  const progressing = condition(conditions, 'Progressing');
  const degraded = condition(conditions, 'Degraded');
  const drifted = condition(conditions, 'Drifted');
  const phase = status?.currentDeployment?.phase;
  if (service.metadata.deletionTimestamp) return { state: 'progressing', reason: 'Being deleted: its containers are being removed' };
  if (!status || (!conditions?.length && !phase)) return { state: 'pending', reason: 'Not observed by a controller yet' };

  if (phase === 'failed') {
    // Degraded carries the failed deployment's reason and message (PortInUse: host port 8080 …).
    const why = degraded?.status === 'True' ? `: ${[degraded.reason, degraded.message].filter(Boolean).join(': ')}` : '';
    return { state: 'failed', reason: `Deployment ${status.currentDeployment?.name ?? ''} failed${why}`.replace('  ', ' ') };
  }
  if (degraded?.status === 'True') return { state: 'failed', reason: said(degraded, 'Degraded') };

  const behind = (service.metadata.generation ?? 0) > (status.observedGeneration ?? service.metadata.generation ?? 0);
  if (progressing?.status === 'True') return { state: 'progressing', reason: said(progressing, 'Rolling out') };
  if (phase && ACTIVE_PHASES.has(phase)) return { state: 'progressing', reason: `Deployment ${phase}` };
  if (behind) return { state: 'progressing', reason: `Generation ${service.metadata.generation} not observed yet` };

  // Drift explains a container that stopped behind Holdfast's back better than "not ready" does.
  if (drifted?.status === 'True' || (status.drift?.count ?? 0) > 0) {
    const count = status.drift?.count;
    return { state: 'drifted', reason: drifted?.message || (count ? `${count} field${count === 1 ? '' : 's'} drifted` : 'Drifted') };
  }
  if (ready?.status === 'False') return { state: 'failed', reason: said(ready, 'Not ready') };
  if (ready?.status === 'True') return { state: 'synced', reason: said(ready, 'Ready') };
  return { state: 'pending', reason: said(ready, 'Readiness unknown') };
}

export function serverState(server: Pick<Server, 'metadata' | 'status'>): Judgement<ServerState> {
  const state = classify(server as unknown as Parameters<typeof classify>[0]);
  const conditions = server.status?.conditions;
  if (!conditions?.length) return { state, reason: 'Not checked yet' };
  const ready = condition(conditions, 'Ready');
  if (state === 'blocked') return { state, reason: said(ready, 'Not ready') };
  const failing = (server.status?.checks ?? []).filter((c) => c.result === 'Fail' || c.result === 'Warn');
  if (failing.length) {
    const failed = failing.filter((c) => c.result === 'Fail').map((c) => c.name);
    const warned = failing.filter((c) => c.result === 'Warn').map((c) => c.name);
    return { state, reason: [failed.length ? `failing: ${failed.join(', ')}` : '', warned.length ? `warnings: ${warned.join(', ')}` : ''].filter(Boolean).join('; ') };
  }
  if (state === 'attention') return { state, reason: said(ready, 'Readiness unknown') };
  return { state, reason: said(ready, 'Ready') };
}

/** Servers the controller has not reported on yet (counted under attention). */
/**
 * Ready against desired replicas as the API status computes them (`status.readyReplicas` of
 * `status.replicas`, every container the deployed input declares); the spec's count only before any
 * deployment completed. The CLI's READY column shows the same.
 */
export function replicaCounts(service: Pick<Service, 'spec' | 'status'>): { ready: number; desired: number | undefined } {
  return { ready: service.status?.readyReplicas ?? 0, desired: service.status?.replicas ?? service.spec?.replicas };
}

export const neverChecked = (server: Pick<Server, 'status'>) => !server.status?.conditions?.length;

export function countBy<T, K extends string>(items: readonly T[], keyOf: (item: T) => K, keys: readonly K[]): Record<K, number> {
  const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const item of items) counts[keyOf(item)] = (counts[keyOf(item)] ?? 0) + 1;
  return counts;
}

export const SERVICE_STATES: readonly ServiceState[] = ['synced', 'progressing', 'drifted', 'failed', 'pending'];
export const SERVER_STATES: readonly ServerState[] = ['ready', 'attention', 'blocked'];

/** The badge tone of a condition. For most, True is good news; these are read otherwise. */
const CONDITION_TONE: Record<string, (status: Condition['status']) => string> = {
  Drifted: (s) => (s === 'True' ? 'drifted' : s === 'False' ? 'synced' : 'pending'),
  Degraded: (s) => (s === 'True' ? 'failed' : s === 'False' ? 'synced' : 'pending'),
  // A Server low on disk needs attention; a full one is also not Ready, which says so in red.
  DiskPressure: (s) => (s === 'True' ? 'drifted' : s === 'False' ? 'synced' : 'pending'),
  Progressing: (s) => (s === 'True' ? 'progressing' : 'pending'),
};

export function conditionTone(c: Condition): string {
  const tone = CONDITION_TONE[c.type];
  if (tone) return tone(c.status);
  return c.status === 'True' ? 'synced' : c.status === 'False' ? 'failed' : 'pending';
}
