// Waiting for a Service's rollout to end, for `apply --wait`, `rollout status`, `sync --wait` and
// `rollout undo --wait`: first until the controller has observed the Service's generation, then
// until the deployment made for it reaches a terminal phase, printing a line whenever the phase
// or the running step changes. Reads through a narrow interface, with the clock and sleep injected.
import type { Resource } from '../core/resource.js';
import { ApiError, ApiUnreachableError } from './client.js';
import { isTerminalPhase, serviceStatus, type DeploymentSummary } from './deployments-api.js';
import { deploymentLine, outcomeLine, progressKey, progressLine } from './rollout-printers.js';

export interface RolloutReader {
  service(namespace: string, name: string): Promise<Resource>;
  deployment(id: string): Promise<DeploymentSummary>;
  history(namespace: string, name: string): Promise<DeploymentSummary[]>;
}

export interface RolloutWaitOptions {
  namespace: string;
  name: string;
  /** Prefix of every line, e.g. `service/web`. */
  label: string;
  /** The wait ends (as `timeout`) at this time, in ms since the epoch. */
  deadline: number;
  /** Follow this deployment instead of finding the one for the Service's generation (after sync, undo). */
  deploymentId?: string;
  print(line: string): void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  pollMs?: number;
}

export type RolloutOutcome = 'completed' | 'failed' | 'canceled' | 'timeout' | 'gone';

export interface RolloutResult {
  outcome: RolloutOutcome;
  deployment?: DeploymentSummary;
}

export const succeeded = (r: RolloutResult) => r.outcome === 'completed';

const DEFAULT_POLL_MS = 1000;

export async function waitForRollout(reader: RolloutReader, opts: RolloutWaitOptions): Promise<RolloutResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((ok) => setTimeout(ok, ms)));
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const { label } = opts;
  let target = opts.deploymentId;
  let waitingFor: string | undefined;
  let lastProgress: string | undefined;
  let lastSeen: DeploymentSummary | undefined;
  let unreachable: string | undefined;
  // A 404 before anything was read is a wrong name, not a deletion while waiting.
  let seenOnce = false;

  for (;;) {
    try {
      if (!target) {
        const found = await findDeployment(reader, opts.namespace, opts.name);
        seenOnce = true;
        if (found.kind === 'waiting') {
          if (waitingFor !== found.why) opts.print(`${label}: waiting for ${found.why}\n`);
          waitingFor = found.why;
        } else if (found.kind === 'none') {
          opts.print(`${label}: failed: ${found.why}\n`);
          return { outcome: 'failed' };
        } else target = found.id;
      }
      if (target) {
        const d = await reader.deployment(target);
        seenOnce = true;
        if (!lastSeen) opts.print(deploymentLine(label, d));
        lastSeen = d;
        const finished = isTerminalPhase(d.phase);
        if (finished) {
          opts.print(outcomeLine(label, d, new Date(now())));
          return { outcome: d.phase as RolloutOutcome, deployment: d };
        }
        if (progressKey(d) !== lastProgress) opts.print(progressLine(label, d));
        lastProgress = progressKey(d);
      }
      unreachable = undefined;
    } catch (err) {
      if (err instanceof ApiError && err.httpStatus === 404 && seenOnce) {
        opts.print(`${label}: ${target ? `deployment ${target} is gone` : 'the service was deleted'} while waiting\n`);
        return { outcome: 'gone', deployment: lastSeen };
      }
      // The API may restart during a long rollout: keep trying until the deadline.
      if (!(err instanceof ApiUnreachableError) && !(err instanceof ApiError && err.httpStatus >= 500)) throw err;
      if (unreachable === undefined) opts.print(`${label}: ${err.message} (retrying)\n`);
      unreachable = err.message;
    }

    const left = opts.deadline - now();
    if (left <= 0) {
      const what = lastSeen ? `deployment ${lastSeen.id} (${progressKey(lastSeen)})` : waitingFor ?? 'the rollout';
      opts.print(`${label}: timed out waiting for ${what}\n`);
      return { outcome: 'timeout', deployment: lastSeen };
    }
    await sleep(Math.min(pollMs, left));
  }
}

type Found = { kind: 'waiting'; why: string } | { kind: 'deployment'; id: string } | { kind: 'none'; why: string };

/**
 * The deployment that decides this Service's rollout: once the controller has observed the current
 * generation, the current deployment when it was made for that generation; else the newest one made
 * for it (a failed one may have been followed by an automatic rollback); else the current one.
 */
async function findDeployment(reader: RolloutReader, namespace: string, name: string): Promise<Found> {
  const service = await reader.service(namespace, name);
  const generation = service.metadata.generation ?? 0;
  const status = serviceStatus(service);
  const observed = status.observedGeneration ?? 0;
  if (observed < generation) return { kind: 'waiting', why: `the controller to observe generation ${generation}` };
  const current = status.currentDeployment;
  if (current?.name && (current.generation ?? 0) >= generation) return { kind: 'deployment', id: current.name };
  const made = (await reader.history(namespace, name)).find((d) => d.generation >= generation && d.trigger !== 'rollback');
  if (made) return { kind: 'deployment', id: made.id };
  // The controller holds the rollout until its server is ready (first contact, or back from an outage).
  const progressing = service.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'WaitingForServer') return { kind: 'waiting', why: `the server${progressing.message ? `: ${progressing.message}` : ' to be ready'}` };
  if (current?.name) return { kind: 'deployment', id: current.name };
  // Observed, yet never deployed: the controller stopped before it could queue a deployment.
  const ready = service.status?.conditions?.find((c) => c.type === 'Ready' && c.status !== 'True');
  const why = ready?.reason ? `${ready.reason}${ready.message ? `: ${ready.message}` : ''}` : `no deployment was made for generation ${generation}`;
  return { kind: 'none', why };
}
