// The deployment record as every part of Holdfast sees it: the state machine of one rollout
// (queued → prepare → deploy → finalize → completed | failed | canceled), its steps and its log
// lines. The store keeps it (store/deployments.ts); the CLI and the dashboard read it from the API.

import type { FrozenInput } from './container-spec.js';

export const PHASES = ['queued', 'prepare', 'deploy', 'finalize', 'completed', 'failed', 'canceled'] as const;
export type DeploymentPhase = (typeof PHASES)[number];
export const TERMINAL_PHASES: readonly DeploymentPhase[] = ['completed', 'failed', 'canceled'];
export const isTerminal = (p: DeploymentPhase) => TERMINAL_PHASES.includes(p);

export const STEP_NAMES = ['clone', 'build', 'pull', 'volume', 'start', 'health', 'finalize'] as const;
export type StepName = (typeof STEP_NAMES)[number];
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export type DeploymentTrigger = 'user' | 'api' | 'webhook' | 'watch' | 'controller' | 'rollback';

export interface DeploymentStep {
  name: StepName;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface DeploymentRecord {
  id: string;
  serviceUid: string;
  namespace: string;
  service: string;
  revision: number;
  generation: number;
  phase: DeploymentPhase;
  trigger: DeploymentTrigger;
  actor: string;
  server: string;
  sourceCommit?: string;
  /** The exact input the deployment rolls out (secret values as hashes only). */
  frozen: FrozenInput;
  specHash: string;
  rollbackOf?: number;
  steps: DeploymentStep[];
  reason?: string;
  message?: string;
  cancelRequested: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  deadline: string;
}

export interface LogLine {
  id: number;
  step: string;
  at: string;
  line: string;
}
