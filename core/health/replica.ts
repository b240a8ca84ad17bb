// A replica's health, judged from what is observed now: its container's state as the live cache holds
// it (running, restarting, exit code, restart count, Docker's HEALTHCHECK status) and the results of
// its readiness probe since the container started. Pure: the same observation always gives the same
// verdict, whoever asks (the Service's status, drift, heal, the rollout).
import type { ReadinessProbe } from '../deploy/container-spec.js';
import type { ContainerState } from '../deploy/normalise-live.js';

export type ReplicaState =
  | 'Ready'
  /** Running, its probe (or Docker's healthcheck) has not passed yet. */
  | 'Starting'
  /** Running, its readiness probe failed failureThreshold times in a row. */
  | 'ProbeFailing'
  /** Running, Docker's own HEALTHCHECK reports it unhealthy. */
  | 'Unhealthy'
  /** Restarting again and again: Docker's restart policy is backing off. */
  | 'CrashLoopBackOff'
  | 'Paused'
  /** Stopped, exited or dead. */
  | 'NotRunning'
  /** A one-shot component that exited 0: done, as declared. */
  | 'Completed'
  /** No container of that name on the host. */
  | 'Missing';

/** What the prober saw of one container since it started (consecutive counts reset on a change of outcome). */
export interface ProbeRecord {
  /** The container start the counts belong to (State.StartedAt): results of an earlier run do not count. */
  startedAt?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Whether the replica passed `successThreshold` probes since its last failing streak. */
  passing: boolean;
  lastDetail?: string;
  lastTime?: string;
}

export interface ReplicaObservation {
  name: string;
  /** The container's state; undefined when the host has no container of this name. */
  state?: ContainerState;
  /** The replica's component runs to completion: exit 0 is its goal. */
  runsToCompletion?: boolean;
  /** The declared readiness probe (http or tcp) and what it observed; absent when none is declared. */
  probe?: { spec: ReadinessProbe; record?: ProbeRecord };
  /** The exit code of the container's last death, when its current state no longer holds it (it restarted). */
  lastExitCode?: number;
}

/**
 * A container restarted at least `restarts` times is in a crash loop while Docker waits to restart it
 * again, or until it has run `stableSeconds` since its last start.
 */
export interface CrashLoopPolicy {
  restarts: number;
  stableSeconds: number;
}

/**
 * Docker backs a dying container off from 100 ms, doubling up to a minute, and resets the back-off
 * once it has run 10 s: a container that keeps dying reaches three restarts in under a second.
 */
export const DEFAULT_CRASH_LOOP: CrashLoopPolicy = { restarts: 3, stableSeconds: 10 };

export interface ReplicaHealth {
  name: string;
  state: ReplicaState;
  ready: boolean;
  /** CamelCase, as condition reasons are. */
  reason: string;
  message: string;
  restartCount?: number;
  exitCode?: number;
}

/** The verdict on one replica at `now`. */
export function replicaHealth(obs: ReplicaObservation, now: Date, crashLoop: CrashLoopPolicy = DEFAULT_CRASH_LOOP): ReplicaHealth {
  const verdict = (state: ReplicaState, reason: string, message: string, extra: Partial<ReplicaHealth> = {}): ReplicaHealth => ({
    name: obs.name,
    state,
    ready: state === 'Ready' || state === 'Completed',
    reason,
    message: `${obs.name}: ${message}`,
    ...extra,
  });
  const s = obs.state;
  if (!s) return verdict('Missing', 'ContainerMissing', 'no container of this name on the server');
  const restarts = { restartCount: s.restartCount };
  const exitCode = s.running && !s.restarting ? obs.lastExitCode : s.exitCode;

  if (isCrashLooping(s, now, crashLoop)) {
    const code = exitCode !== undefined ? `, last exit code ${exitCode}` : '';
    const oom = s.oomKilled ? ' (killed: out of memory)' : '';
    return verdict('CrashLoopBackOff', 'CrashLoopBackOff', `restarted ${s.restartCount} time${s.restartCount === 1 ? '' : 's'}${code}${oom}; Docker is backing off between restarts`, {
      ...restarts,
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  }
  if (s.paused) return verdict('Paused', 'ContainerPaused', 'the container is paused', restarts);
  if (!s.running || s.restarting) {
    if (obs.runsToCompletion && s.status === 'exited' && s.exitCode === 0) return verdict('Completed', 'Completed', 'ran to completion (exit code 0)', restarts);
    const oom = s.oomKilled ? ', killed: out of memory' : '';
    const what = s.restarting ? `restarting after exit code ${s.exitCode}` : s.status === 'exited' ? `exited (exit code ${s.exitCode}${oom})` : s.status;
    return verdict('NotRunning', 'ContainerNotRunning', what, { ...restarts, exitCode: s.exitCode });
  }
  if (s.health === 'unhealthy') {
    return verdict('Unhealthy', 'HealthCheckFailing', `Docker's healthcheck reports it unhealthy${s.failingStreak ? ` (${s.failingStreak} consecutive failures)` : ''}`, restarts);
  }
  if (obs.probe) {
    const { spec, record } = obs.probe;
    const current = record && (!record.startedAt || !s.startedAt || record.startedAt === s.startedAt) ? record : undefined;
    if (current && current.consecutiveFailures >= spec.failureThreshold) {
      return verdict('ProbeFailing', 'ProbeFailing', `${current.consecutiveFailures} consecutive probe failures (failureThreshold ${spec.failureThreshold})${current.lastDetail ? `: ${current.lastDetail}` : ''}`, restarts);
    }
    if (!current?.passing) {
      const last = current?.lastDetail ? `; last probe: ${current.lastDetail}` : '';
      return verdict('Starting', 'ProbeNotPassed', `running; its readiness probe has not passed yet${last}`, restarts);
    }
  }
  if (s.health === 'starting') return verdict('Starting', 'HealthCheckStarting', "running; Docker's healthcheck has not passed yet", restarts);
  return verdict('Ready', 'Ready', obs.probe ? 'running, its readiness probe passes' : s.health === 'healthy' ? 'running and healthy' : 'running', restarts);
}

function isCrashLooping(s: ContainerState, now: Date, policy: CrashLoopPolicy): boolean {
  if (s.restartCount < policy.restarts) return false;
  if (s.restarting) return true;
  if (!s.running) return false;
  const started = Date.parse(s.startedAt ?? '');
  return Number.isFinite(started) && now.getTime() - started < policy.stableSeconds * 1000;
}

/**
 * The record after one more probe result. A container start other than the record's begins a new
 * record; `failureThreshold` consecutive failures end `passing`, `successThreshold` consecutive
 * passes (default 1) begin it.
 */
export function recordProbe(
  previous: ProbeRecord | undefined,
  result: { ok: boolean; detail: string },
  startedAt: string | undefined,
  at: Date,
  probe: Pick<ReadinessProbe, 'failureThreshold' | 'successThreshold'>,
): ProbeRecord {
  const prev = previous && previous.startedAt === startedAt ? previous : { consecutiveFailures: 0, consecutiveSuccesses: 0, passing: false };
  const base = { ...(startedAt ? { startedAt } : {}), lastDetail: result.detail, lastTime: at.toISOString() };
  if (result.ok) {
    const consecutiveSuccesses = prev.consecutiveSuccesses + 1;
    return { ...base, consecutiveFailures: 0, consecutiveSuccesses, passing: prev.passing || consecutiveSuccesses >= (probe.successThreshold ?? 1) };
  }
  const consecutiveFailures = prev.consecutiveFailures + 1;
  return { ...base, consecutiveFailures, consecutiveSuccesses: 0, passing: prev.passing && consecutiveFailures < probe.failureThreshold };
}
