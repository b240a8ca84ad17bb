// The decisions a rollout takes, apart from the I/O that feeds them: what a plan refuses and how it is
// summed up, how a failure is named and whether the previous input is put back, and, at each look at
// a replica or a Swarm service the rollout waits for, whether the wait is over, failed, or goes on.
// controllers/services/rollout.ts and its waits do the I/O and act on these verdicts.
import type { TaskProgress } from '../plan/swarm.js';
import type { Action, HealthCheckKind } from '../plan/types.js';
import { replicaHealth } from '../health/replica.js';
import type { ContainerState } from './normalise-live.js';
import type { ReadinessProbe } from './container-spec.js';

/** A failure with a CamelCase reason, as conditions and deployment records carry. */
export class RolloutFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** How long a container without a probe or healthcheck must stay up, unrestarted, to count as started. */
export const RUNNING_STABLE_MS = 2000;

/** The plan's refusals as one failure (one reason when they share it), or undefined when it has none. */
export function planRefusal(actions: readonly Action[]): RolloutFailure | undefined {
  const fails = actions.flatMap((a) => (a.type === 'fail' ? [a] : []));
  if (fails.length === 0) return undefined;
  const reasons = new Set(fails.map((f) => f.failure ?? 'PlanFailed'));
  return new RolloutFailure(reasons.size === 1 ? [...reasons][0] : 'PlanFailed', fails.map((f) => `${f.target}: ${f.reason}`).join('; '));
}

/** The deployment log's one line on a plan. */
export function planSummary(actions: readonly Action[]): string {
  const checks = actions.filter((a) => a.type === 'wait-healthy' || a.type === 'wait-completed').length;
  if (actions.length === 0) return 'the host already runs this input: nothing to do';
  if (checks === actions.length) return `the host already runs this input: ${checks} replica(s) to check before the rollout completes`;
  return `plan: ${actions.length} action(s)`;
}

/**
 * Whatever step ran out of disk (a pull, a build, a container's create), the reason says so and what
 * to do: the step's own error only quotes the daemon's "no space left on device".
 */
export function diskFull(failure: RolloutFailure, server: string): RolloutFailure {
  if (!/no space left on device/i.test(failure.message)) return failure;
  return new RolloutFailure('DiskFull', `server ${server} is out of disk space (free some: docker system prune, or grow the volume): ${failure.message}`);
}

/** The failure a deployment records for what ended its rollout. */
export function failureOf(err: unknown, at: { deadlinePassed: boolean; deadline: string; server: string }): RolloutFailure {
  const failure =
    err instanceof RolloutFailure ? err
    : at.deadlinePassed ? new RolloutFailure('DeadlineExceeded', `the deployment did not finish by its deadline (${at.deadline})`)
    : new RolloutFailure('DeploymentError', (err as Error)?.message ?? String(err));
  return diskFull(failure, at.server);
}

/**
 * A failed rollout puts the previous completed input back when the input asks for it and there is
 * one, unless its deadline passed or it was aborted (canceled, superseded, handed over): then the time
 * or the right to act on the host is gone.
 */
export function rollsBack(at: { autoRollback: boolean; hasPrevious: boolean; deadlinePassed: boolean; aborted: boolean }): boolean {
  return at.autoRollback && at.hasPrevious && !at.deadlinePassed && !at.aborted;
}

/** One look at a replica the rollout waits for (a wait-healthy action). */
export interface ReplicaLook {
  target: string;
  /** What the planner asked to see: the container running, Docker's healthcheck, or the readiness probe. */
  check: HealthCheckKind;
  /** Whether a readiness probe is declared (a readiness check without one waits as a healthcheck would). */
  probed: boolean;
  state: ContainerState;
  /** The output of Docker's last healthcheck run, for the failure message. */
  lastHealthOutput?: string;
  now: Date;
  /** Since when this run of the container (its StartedAt) has been seen up; kept by the caller between looks. */
  runningSince?: { startedAt?: string; at: number };
}

export type ReplicaVerdict =
  | { kind: 'ready'; line: string }
  | { kind: 'failed'; failure: RolloutFailure; logTail?: true }
  /** Docker is restarting it: wait, saying so now and then. */
  | { kind: 'restarting'; line: string }
  /** Run the readiness probe now. */
  | { kind: 'probe' }
  /** Up, but not yet for RUNNING_STABLE_MS; keep `runningSince` for the next look. */
  | { kind: 'stabilising'; runningSince: { startedAt?: string; at: number } }
  /** Docker's healthcheck has not decided yet. */
  | { kind: 'pending'; line: string };

/** The verdict on one look at a replica; the probe's own verdict and the deadline are the caller's. */
export function judgeReplicaLook(look: ReplicaLook): ReplicaVerdict {
  const { target, state } = look;
  // The same judgement the Service's status makes: a crash loop fails the rollout at once.
  const replica = replicaHealth({ name: target, state }, look.now);
  if (replica.state === 'CrashLoopBackOff') return { kind: 'failed', failure: new RolloutFailure('CrashLoopBackOff', replica.message), logTail: true };
  if (!state.running && !state.restarting) {
    return { kind: 'failed', failure: new RolloutFailure('ContainerExited', `${target} is not running (${state.status}, exit code ${state.exitCode})`), logTail: true };
  }
  if (state.restarting) return { kind: 'restarting', line: `${target}: restarting after exit code ${state.exitCode} (${state.restartCount} restarts)` };
  if (look.check === 'readiness' && look.probed) return { kind: 'probe' };
  if (look.check === 'running' || state.health === 'none') {
    // Nothing to probe: the container must at least stay up a moment, not exit right after its start.
    const now = look.now.getTime();
    const since = look.runningSince && look.runningSince.startedAt === state.startedAt ? look.runningSince : { startedAt: state.startedAt, at: now };
    if (now - since.at >= RUNNING_STABLE_MS) return { kind: 'ready', line: `${target} is running (up ${Math.round((now - since.at) / 1000)} s without a restart)` };
    return { kind: 'stabilising', runningSince: since };
  }
  if (state.health === 'healthy') return { kind: 'ready', line: `${target} is healthy` };
  if (state.health === 'unhealthy') {
    const last = look.lastHealthOutput?.trim();
    return { kind: 'failed', failure: new RolloutFailure('HealthCheckFailed', `${target} is unhealthy: Docker's healthcheck failed ${state.failingStreak ?? '?'} times in a row${last ? `: ${last.slice(0, 300)}` : ''}`) };
  }
  return { kind: 'pending', line: `${target}: Docker's healthcheck is ${state.health}` };
}

/** Where a wait for a replica stands when a look did not end it: the failure once its time is up. */
export interface ReplicaWaitProgress {
  target: string;
  deadlineSeconds: number;
  /** Milliseconds by the rollout's clock: now and the end of the wait. */
  now: number;
  until: number;
  probe?: ReadinessProbe;
  consecutiveFailures: number;
  lastDetail?: string;
  /** The last look found it up but not yet stable (no probe, no healthcheck). */
  stabilising?: boolean;
}

export function replicaWaitExpired(p: ReplicaWaitProgress): RolloutFailure | undefined {
  if (p.stabilising) {
    return p.now >= p.until ? new RolloutFailure('HealthCheckFailed', `${p.target} did not stay running within ${p.deadlineSeconds} s`) : undefined;
  }
  const failing = p.probe ? ` after ${p.consecutiveFailures} consecutive probe failures (failureThreshold ${p.probe.failureThreshold})` : '';
  if (p.now >= p.until) {
    return new RolloutFailure('HealthCheckFailed', `${p.target} did not become ready within ${p.deadlineSeconds} s${failing}${p.lastDetail ? `; last probe: ${p.lastDetail}` : ''}`);
  }
  // The probe failed its threshold and another interval would pass the deadline: no point waiting it out.
  if (p.probe && p.consecutiveFailures >= p.probe.failureThreshold && p.now + p.probe.intervalSeconds * 1000 > p.until) {
    return new RolloutFailure('HealthCheckFailed', `${p.target} is not ready${failing}: ${p.lastDetail}`);
  }
  return undefined;
}

/** One look at a Swarm service the rollout waits for (a wait-service action). */
export interface SwarmServiceLook {
  name: string;
  progress: TaskProgress;
  desired: number;
  updateState?: string;
  updateMessage?: string;
  /** Running tasks of the new spec still not ready by their readiness probe (when probed from their nodes). */
  unready: number;
  /** Says which tasks are unready and why (their node, their last probe). */
  describeUnready?: () => string;
  /** Failed tasks of the new spec, described (state, node, error). */
  describeFailed: () => string;
  healthcheck: boolean;
  probed: boolean;
  deadlineSeconds: number;
  now: number;
  until: number;
}

export type SwarmServiceVerdict = { kind: 'done'; line: string } | { kind: 'failed'; failure: RolloutFailure } | { kind: 'waiting' };

export function judgeSwarmServiceLook(look: SwarmServiceLook): SwarmServiceVerdict {
  const { name, progress, desired } = look;
  const updating = look.updateState === 'updating' || look.updateState === 'rollback_started';
  if (progress.running >= desired && progress.old === 0 && !updating && look.unready === 0) {
    return { kind: 'done', line: `${name}: ${desired} task(s) of the new spec running${look.healthcheck ? ' and healthy' : ''}${look.probed ? ' and ready' : ''}` };
  }
  if (progress.failed.length > 0) {
    return { kind: 'failed', failure: new RolloutFailure('TaskFailed', `Swarm service ${name}: task(s) of the new spec failed (${look.describeFailed()})`) };
  }
  if (look.updateState === 'paused' || look.updateState === 'rollback_paused') {
    return { kind: 'failed', failure: new RolloutFailure('UpdatePaused', `Swarm paused the update of ${name}: ${look.updateMessage ?? 'no message'} (${progress.summary})`) };
  }
  if (look.now >= look.until) {
    if (progress.running >= desired && look.unready > 0 && look.probed) {
      return { kind: 'failed', failure: new RolloutFailure('HealthCheckFailed', `Swarm service ${name}: ${look.unready} task(s) of the new spec not ready within ${look.deadlineSeconds}s: ${look.describeUnready?.() ?? ''}`) };
    }
    return { kind: 'failed', failure: new RolloutFailure('HealthCheckFailed', `Swarm service ${name} did not run ${desired} task(s) of the new spec within ${look.deadlineSeconds}s: ${progress.summary}`) };
  }
  return { kind: 'waiting' };
}
