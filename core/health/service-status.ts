// A Service's status from what the controller found: its spec's validity, the server it waits for,
// its newest and last completed deployments, and the health of what its server runs. Pure: the
// controller reads the store and the host, this decides every field and condition.
import { setCondition, type Condition } from '../resource.js';
import type { ServiceStatus } from '../schema/types.generated.js';
import { ROLLED_BACK_CONDITION, rolledBackMessage, type RolledBack } from '../deploy/rolled-back.js';
import type { ServiceHealth } from './service.js';

/** A deployment as the status shows it. */
export interface DeploymentFacts {
  id: string;
  revision: number;
  generation: number;
  phase: 'queued' | 'prepare' | 'deploy' | 'finalize' | 'completed' | 'failed' | 'canceled';
  server: string;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface ServiceStatusFacts {
  generation: number;
  previous: ServiceStatus;
  now: Date;
  /** Why the spec cannot be rendered. */
  invalid?: string;
  /** Why the rollout waits (ServerNotFound, WaitingForServer, SourceUnreachable) and, when not its server, for what. */
  waiting?: { reason: string; message: string; until?: string };
  latest?: DeploymentFacts;
  completed?: DeploymentFacts;
  /**
   * The declared spec renders to the input the newest deployment ran: a newer generation that changed
   * nothing a deployment sees (drift policy, labels) is rolled out all the same.
   */
  inputCurrent?: boolean;
  /** What the server should run now (the completed input, or what a failed first rollout left): its replica count and image. */
  observed?: { replicas: number; image?: string };
  health?: ServiceHealth;
  /** Why the health could not be observed (the server cannot be read). */
  hostError?: string;
  rolledBack?: RolledBack;
}

export interface ComputedServiceStatus {
  status: ServiceStatus;
  /** When to look again even without a change. */
  requeueAfterMs?: number;
}

const terminal = (phase: DeploymentFacts['phase']) => phase === 'completed' || phase === 'failed' || phase === 'canceled';
const RETRY_MS = 30_000;

export function computeServiceStatus(facts: ServiceStatusFacts): ComputedServiceStatus {
  const { generation: gen, previous, latest, completed, health } = facts;
  let conditions: Condition[] = previous.conditions ?? [];
  const set = (type: string, ok: boolean, reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status: ok ? 'True' : 'False', reason, message, observedGeneration: gen }, facts.now);
  };
  const status: ServiceStatus = { ...previous, observedGeneration: gen };
  let requeueAfterMs: number | undefined;
  // Set where Ready is decided by a fact other than what runs (nothing deployed yet, a server that cannot be read).
  let readyDecided = false;
  const running = latest && !terminal(latest.phase);

  if (facts.invalid) {
    set('Ready', false, 'InvalidSpec', facts.invalid);
    set('Progressing', false, 'InvalidSpec', 'nothing is rolled out until the spec is fixed');
  } else if (facts.waiting) {
    const { reason, message } = facts.waiting;
    const until = facts.waiting.until ?? `the server ${reason === 'ServerNotFound' ? 'exists and ' : ''}is ready`;
    set('Progressing', false, reason, `${message}; generation ${gen} rolls out once ${until}`);
    if (!latest) {
      set('Ready', false, reason, message);
      readyDecided = true;
    }
    requeueAfterMs = RETRY_MS;
  } else if (latest && running) {
    set('Progressing', true, 'DeploymentRunning', `deployment ${latest.id} (revision ${latest.revision}) is in phase ${latest.phase}`);
  } else if (latest?.phase === 'completed') {
    set('Progressing', false, 'DeploymentCompleted', `revision ${latest.revision} rolled out`);
    set('Degraded', false, 'DeploymentCompleted', `revision ${latest.revision} rolled out`);
  } else if (latest?.phase === 'failed' || latest?.phase === 'canceled') {
    set('Progressing', false, latest.phase === 'failed' ? 'DeploymentFailed' : 'DeploymentCanceled', latest.message ?? latest.phase);
    set('Degraded', true, latest.reason ?? 'DeploymentFailed', latest.message ?? 'the last deployment failed');
  }
  if (latest) {
    status.currentDeployment = {
      name: latest.id,
      generation: latest.generation,
      phase: latest.phase,
      ...(latest.startedAt ? { startedAt: latest.startedAt } : {}),
      ...(latest.finishedAt ? { finishedAt: latest.finishedAt } : {}),
    } as ServiceStatus['currentDeployment'];
  }
  if (completed) status.lastSuccessfulDeployment = completed.id;
  if (facts.observed) {
    status.replicas = facts.observed.replicas;
    status.image = facts.observed.image;
    if (facts.hostError !== undefined) {
      status.readyReplicas = 0;
      set('Ready', false, 'ServerUnavailable', facts.hostError);
      readyDecided = true;
      requeueAfterMs = RETRY_MS;
    } else if (health) status.readyReplicas = health.readyReplicas;
  }
  if (!facts.invalid && !readyDecided) {
    const upToDate = completed && latest?.id === completed.id && (completed.generation === gen || facts.inputCurrent);
    if (latest && running) set('Ready', false, 'Progressing', `deployment ${latest.id} is running`);
    // What runs is judged as it is; a replica not ready says so even when the declared spec is not rolled out.
    else if (health && (upToDate || health.ready.status === 'False')) set('Ready', health.ready.status === 'True', health.ready.reason, health.ready.message);
    else set('Ready', false, latest?.phase === 'failed' ? 'DeploymentFailed' : 'NotRolledOut', latest?.message ?? 'the declared spec is not rolled out');
  }
  if (facts.rolledBack) set(ROLLED_BACK_CONDITION, true, 'RolledBack', rolledBackMessage(facts.rolledBack));
  else if (conditions.some((c) => c.type === ROLLED_BACK_CONDITION && c.status === 'True')) set(ROLLED_BACK_CONDITION, false, 'DeclaredSpecDeployed', 'the newest deployment rolls out the declared spec');
  status.conditions = conditions;
  return requeueAfterMs !== undefined ? { status, requeueAfterMs } : { status };
}
