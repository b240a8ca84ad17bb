// What `holdfast rollout`, `apply --wait`, `sync` and `cancel` print about deployments: the history
// table, one progress line per phase or step change, per new log line and every few seconds while
// nothing changes, the outcome line, and what to run after an interrupted wait. Pure.
import type { LogLine } from '../core/deploy/deployment-record.js';
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

/** Longest log text shown in a progress line; the whole line is in `holdfast logs`. */
const LOG_TEXT_WIDTH = 200;

/** A log line's first line, cut, with how many lines follow it. */
function logText(line: LogLine): string {
  const [first, ...more] = line.line.split('\n').filter((l) => l.trim() !== '');
  const text = (first ?? '').trim();
  const cut = text.length > LOG_TEXT_WIDTH ? text.slice(0, LOG_TEXT_WIDTH - 1) + '…' : text;
  return more.length ? `${cut} (+${more.length} line${more.length === 1 ? '' : 's'})` : cut;
}

/** `service/web: health: web-1 not ready yet: GET :8080/ connection refused`: the deployment's newest log line. */
export function logProgressLine(label: string, line: LogLine): string {
  return `${label}: ${line.step}: ${logText(line)}\n`;
}

/**
 * `service/web: deploy (health) for 25s; last: health: … (3s ago); deployment deadline in 9m35s`: printed when
 * nothing changed for a while. The deadline is the deployment's own (it fails DeadlineExceeded
 * there); the wait's end is added when it comes first.
 */
export function heartbeatLine(label: string, d: DeploymentSummary, at: { newestLog?: LogLine; now: Date; waitDeadline: number }): string {
  const running = d.steps.find((s) => s.status === 'running');
  const since = running?.startedAt ?? d.startedAt ?? d.createdAt;
  const parts = [`${label}: ${progressKey(d)} for ${age(since, at.now)}`];
  if (at.newestLog) parts.push(`last: ${at.newestLog.step}: ${logText(at.newestLog)} (${age(at.newestLog.at, at.now)} ago)`);
  const deadline = Date.parse(d.deadline);
  const waitEnds = at.waitDeadline < deadline ? ` (this wait ends in ${humanDuration(at.waitDeadline - at.now.getTime())})` : '';
  parts.push(`deployment deadline in ${humanDuration(deadline - at.now.getTime())}${waitEnds}`);
  return parts.join('; ') + '\n';
}

/** After Ctrl-C: the rollout goes on; how to follow or cancel it. */
export function interruptedLines(label: string, service: { namespace: string; name: string }, deploymentId: string | undefined): string {
  const follow = `holdfast rollout status service/${service.name} -n ${service.namespace}${deploymentId ? ` --deployment ${deploymentId}` : ''}`;
  if (!deploymentId) return `${label}: stopped waiting; the rollout goes on.\n  follow it: ${follow}\n`;
  return `${label}: stopped waiting; deployment ${deploymentId} goes on.\n  follow it: ${follow}\n  cancel it: holdfast cancel --deployment ${deploymentId}\n`;
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
