// What `holdfast rollout`, `apply --wait`, `sync` and `cancel` print about deployments: the history
// table, one progress line per phase or step change, and the outcome line. Pure.
import type { DeploymentSummary } from './deployments-api.js';
import { age, humanDuration, renderTable } from './printers.js';

export const HISTORY_COLUMNS = ['REVISION', 'DEPLOYMENT', 'PHASE', 'TRIGGER', 'ACTOR', 'GENERATION', 'STARTED', 'DURATION', 'REASON'];

const NONE = '<none>';

/** Newest first, as the API lists them. */
export function historyTable(items: readonly DeploymentSummary[], now: Date): string {
  const rows = items.map((d) => [
    String(d.revision),
    d.id,
    d.phase,
    d.trigger + (d.rollbackOf !== undefined ? ` (of ${d.rollbackOf})` : ''),
    d.actor || NONE,
    String(d.generation),
    d.startedAt ? `${age(d.startedAt, now)} ago` : d.phase === 'queued' ? 'queued' : NONE,
    deploymentDuration(d, now) ?? NONE,
    d.reason ?? NONE,
  ]);
  return renderTable([HISTORY_COLUMNS, ...rows]);
}

/** How long it ran (or has been running); undefined before it started. */
export function deploymentDuration(d: Pick<DeploymentSummary, 'startedAt' | 'finishedAt'>, now: Date): string | undefined {
  if (!d.startedAt) return undefined;
  const end = d.finishedAt ? Date.parse(d.finishedAt) : now.getTime();
  return humanDuration(end - Date.parse(d.startedAt));
}

/** The step running now, else the last one that ended. */
export function currentStep(d: Pick<DeploymentSummary, 'steps'>): string | undefined {
  const running = d.steps.find((s) => s.status === 'running');
  return running?.name;
}

/** `deploy (start)`: the phase, with the step that is running. */
export function progressKey(d: DeploymentSummary): string {
  const step = currentStep(d);
  return step ? `${d.phase} (${step})` : d.phase;
}

/** `service/web: deploy (start) …` */
export function progressLine(label: string, d: DeploymentSummary): string {
  return `${label}: ${progressKey(d)} …\n`;
}

/** `service/web: deployment d-1a2b… (revision 4, generation 3, trigger user)` */
export function deploymentLine(label: string, d: DeploymentSummary): string {
  const rollback = d.rollbackOf !== undefined ? `, redeploys revision ${d.rollbackOf}` : '';
  return `${label}: deployment ${d.id} (revision ${d.revision}, generation ${d.generation}, trigger ${d.trigger}${rollback})\n`;
}

/** `service/web: completed in 12s`, `service/web: failed: HealthCheckFailed: …`, `service/web: canceled …` */
export function outcomeLine(label: string, d: DeploymentSummary, now: Date): string {
  const took = deploymentDuration(d, now);
  const detail = [d.reason, d.message].filter(Boolean).join(': ');
  const failedStep = d.steps.find((s) => s.status === 'failed');
  switch (d.phase) {
    case 'completed':
      return `${label}: completed${took ? ` in ${took}` : ''}\n`;
    case 'failed':
      return `${label}: failed${detail ? `: ${detail}` : ''}${failedStep ? ` (step ${failedStep.name}${took ? `, after ${took}` : ''})` : took ? ` (after ${took})` : ''}\n`;
    case 'canceled':
      return `${label}: canceled${detail ? `: ${detail}` : ''}${took ? ` (after ${took})` : ''}\n`;
    default:
      return progressLine(label, d);
  }
}
