// How a deployment record moves: phase changes and step transitions, each stamped with the time it
// happened, folded onto the record in order. A running deployment gathers several of them and the
// store writes them in one transaction (store/deployments.ts), so the fold, not the write, says when
// each happened.
import { HoldfastError } from '../errors.js';
import { isTerminal, type DeploymentPhase, type DeploymentStep, type StepName } from './deployment-record.js';

export type ProgressChange =
  | { phase: DeploymentPhase; at: string; reason?: string; message?: string }
  | { step: StepName; status: 'running' | 'succeeded' | 'failed' | 'skipped'; at: string; message?: string };

/** The parts of a deployment record its progress changes. */
export interface DeploymentProgress {
  phase: DeploymentPhase;
  steps: DeploymentStep[];
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  message?: string;
}

/** Applies `changes` in order; a change after the deployment ended is a Conflict. */
export function applyProgress(id: string, current: DeploymentProgress, changes: readonly ProgressChange[]): DeploymentProgress {
  let next = current;
  for (const change of changes) {
    if (isTerminal(next.phase)) throw new HoldfastError('Conflict', `deployment ${id} already ended (${next.phase})`);
    next = 'phase' in change ? changePhase(next, change) : changeStep(next, change);
  }
  return next;
}

function changePhase(p: DeploymentProgress, change: Extract<ProgressChange, { phase: DeploymentPhase }>): DeploymentProgress {
  const next: DeploymentProgress = { ...p, phase: change.phase };
  if (change.phase !== 'queued' && !p.startedAt) next.startedAt = change.at;
  if (isTerminal(change.phase)) {
    next.finishedAt = change.at;
    // Steps still running or pending when a deployment ends did not happen.
    next.steps = p.steps.map((s) =>
      s.status === 'running' ? { ...s, status: change.phase === 'completed' ? 'succeeded' : 'failed', finishedAt: change.at } : s.status === 'pending' ? { ...s, status: 'skipped' } : s,
    );
  }
  if (change.reason !== undefined) next.reason = change.reason;
  if (change.message !== undefined) next.message = change.message;
  return next;
}

function changeStep(p: DeploymentProgress, change: Extract<ProgressChange, { step: StepName }>): DeploymentProgress {
  const steps = p.steps.map((s): DeploymentStep => {
    if (s.name !== change.step) return s;
    if (change.status === 'running') {
      const { finishedAt: _f, message: _m, ...rest } = s;
      return { ...rest, status: 'running', startedAt: s.startedAt ?? change.at };
    }
    return { ...s, status: change.status, startedAt: s.startedAt ?? change.at, finishedAt: change.at, ...(change.message ? { message: change.message } : {}) };
  });
  return { ...p, steps };
}
