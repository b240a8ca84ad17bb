// Waiting for a Service's rollout to end, for `apply --wait`, `rollout status`, `sync --wait` and
// `rollout undo --wait`: first until the controller has observed the Service's generation, then
// until the deployment made for it reaches a terminal phase, printing a line whenever the phase,
// the running step or the deployment's newest log line changes, and at least every few seconds
// while nothing does. Reads through a narrow interface, with the clock and sleep injected; an
// interrupt signal ends the wait (the deployment goes on).
import type { Resource } from '../core/resource.js';
import type { LogLine } from '../core/deploy/deployment-record.js';
import { ApiError, ApiUnreachableError } from './client.js';
import { isTerminalPhase, serviceStatus, type DeploymentSummary } from './deployments-api.js';
import { humanDuration } from './printers.js';
import { deploymentLine, heartbeatLine, logProgressLine, outcomeLine, progressKey, progressLine } from './rollout-printers.js';

export interface RolloutReader {
  service(namespace: string, name: string): Promise<Resource>;
  deployment(id: string): Promise<DeploymentSummary>;
  history(namespace: string, name: string): Promise<DeploymentSummary[]>;
  /** The deployment's log lines after the one with id `afterId`, oldest first. */
  logs(id: string, afterId: number): Promise<LogLine[]>;
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
  /** Aborted (Ctrl-C): the wait ends at once as `interrupted`; the deployment is not touched. */
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  pollMs?: number;
  /** A line is printed at least this often while a deployment runs. */
  heartbeatMs?: number;
}

export type RolloutOutcome = 'completed' | 'failed' | 'canceled' | 'timeout' | 'gone' | 'interrupted';

export interface RolloutResult {
  outcome: RolloutOutcome;
  deployment?: DeploymentSummary;
  /** The deployment followed, also when the wait ended before reading it. */
  deploymentId?: string;
}

export const succeeded = (r: RolloutResult) => r.outcome === 'completed';

const DEFAULT_POLL_MS = 1000;
export const HEARTBEAT_MS = 5000;

class Interrupted extends Error {}

export async function waitForRollout(reader: RolloutReader, opts: RolloutWaitOptions): Promise<RolloutResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? abortableSleep;
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  const { label, signal } = opts;
  let target = opts.deploymentId;
  let waitingFor: string | undefined;
  let waitingSince = now();
  let lastProgress: string | undefined;
  let lastSeen: DeploymentSummary | undefined;
  let unreachable: string | undefined;
  let lastLogId = 0;
  let newestLog: LogLine | undefined;
  let printedLog: LogLine | undefined;
  let lastPrintAt = now();
  const print = (line: string) => {
    opts.print(line);
    lastPrintAt = now();
  };
  // A 404 before anything was read is a wrong name, not a deletion while waiting.
  let seenOnce = false;
  const read = <T>(p: Promise<T>) => untilAborted(p, signal);

  try {
    for (;;) {
      try {
        if (!target) {
          const found = await read(findDeployment(reader, opts.namespace, opts.name));
          seenOnce = true;
          if (found.kind === 'waiting') {
            if (waitingFor !== found.why) {
              print(`${label}: waiting for ${found.why}\n`);
              waitingSince = now();
            }
            waitingFor = found.why;
          } else if (found.kind === 'none') {
            print(`${label}: failed: ${found.why}\n`);
            return { outcome: 'failed' };
          } else target = found.id;
        }
        if (target) {
          const d = await read(reader.deployment(target));
          seenOnce = true;
          if (!lastSeen) print(deploymentLine(label, d));
          lastSeen = d;
          if (isTerminalPhase(d.phase)) {
            print(outcomeLine(label, d, new Date(now())));
            return { outcome: d.phase as RolloutOutcome, deployment: d };
          }
          const lines = await read(reader.logs(target, lastLogId));
          if (lines.length) {
            lastLogId = lines[lines.length - 1].id;
            newestLog = lines[lines.length - 1];
          }
          if (progressKey(d) !== lastProgress) print(progressLine(label, d));
          else if (newestLog && newestLog !== printedLog) {
            print(logProgressLine(label, newestLog));
            printedLog = newestLog;
          } else if (now() - lastPrintAt >= heartbeatMs) print(heartbeatLine(label, d, { newestLog, now: new Date(now()), waitDeadline: opts.deadline }));
          lastProgress = progressKey(d);
        } else if (now() - lastPrintAt >= heartbeatMs && waitingFor) {
          print(`${label}: still waiting (${humanDuration(now() - waitingSince)})\n`);
        }
        unreachable = undefined;
      } catch (err) {
        if (err instanceof Interrupted) throw err;
        if (err instanceof ApiError && err.httpStatus === 404 && seenOnce) {
          print(`${label}: ${target ? `deployment ${target} is gone` : 'the service was deleted'} while waiting\n`);
          return { outcome: 'gone', deployment: lastSeen };
        }
        // The API may restart during a long rollout: keep trying until the deadline.
        if (!(err instanceof ApiUnreachableError) && !(err instanceof ApiError && err.httpStatus >= 500)) throw err;
        if (unreachable === undefined) print(`${label}: ${err.message} (retrying)\n`);
        unreachable = err.message;
      }

      const left = opts.deadline - now();
      if (left <= 0) {
        const what = lastSeen ? `deployment ${lastSeen.id} (${progressKey(lastSeen)})` : waitingFor ?? 'the rollout';
        print(`${label}: timed out waiting for ${what}\n`);
        return { outcome: 'timeout', deployment: lastSeen };
      }
      await read(sleep(Math.min(pollMs, left), signal));
    }
  } catch (err) {
    if (err instanceof Interrupted) return { outcome: 'interrupted', deployment: lastSeen, deploymentId: target };
    throw err;
  }
}

/** Settles as `p` does, or rejects with Interrupted as soon as `signal` aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((ok, fail) => {
    const onAbort = () => fail(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        ok(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        fail(e);
      },
    );
  });
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((ok) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      ok();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

type Found = { kind: 'waiting'; why: string } | { kind: 'deployment'; id: string } | { kind: 'none'; why: string };

/**
 * The deployment that decides this Service's rollout, once the controller has observed the current
 * generation: the newest one queued for that generation (by the controller, `sync` or `rollout
 * undo`; not an automatic rollback that followed a failed one); else, while the controller holds the
 * rollout for its server, none yet; else the newest one (no deployment was needed for the change).
 */
async function findDeployment(reader: RolloutReader, namespace: string, name: string): Promise<Found> {
  const service = await reader.service(namespace, name);
  const generation = service.metadata.generation ?? 0;
  const status = serviceStatus(service);
  const observed = status.observedGeneration ?? 0;
  if (observed < generation) return { kind: 'waiting', why: `the controller to observe generation ${generation}` };
  const history = await reader.history(namespace, name);
  const made = history.find((d) => d.generation >= generation && d.trigger !== 'rollback');
  if (made) return { kind: 'deployment', id: made.id };
  // The controller holds the rollout until its server is ready (first contact, or back from an outage)
  // and while a git build's remote does not answer.
  const progressing = service.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ServerNotFound') return { kind: 'none', why: `ServerNotFound: ${progressing.message}` };
  if (progressing?.reason === 'WaitingForServer') return { kind: 'waiting', why: `the server${progressing.message ? `: ${progressing.message}` : ' to be ready'}` };
  if (progressing?.reason === 'SourceUnreachable') return { kind: 'waiting', why: `the git source: ${progressing.message}` };
  const newest = history[0]?.id ?? status.currentDeployment?.name;
  if (newest) return { kind: 'deployment', id: newest };
  // Observed, yet never deployed: the controller stopped before it could queue a deployment.
  const ready = service.status?.conditions?.find((c) => c.type === 'Ready' && c.status !== 'True');
  const why = ready?.reason ? `${ready.reason}${ready.message ? `: ${ready.message}` : ''}` : `no deployment was made for generation ${generation}`;
  return { kind: 'none', why };
}
