// The rollout planner for a Service that runs as a Swarm service on a manager: frozen input + the
// manager's services, tasks, containers and images → actions, each with its reason. Create the
// service when it does not exist, update it when its spec hash differs (or a paused update is to
// be taken up again), wait for the tasks of the spec when fewer than declared run, and nothing
// when it runs as frozen. Containers the Service ran before on the manager's own engine (before it
// ran as a Swarm service) go first: they may hold the host ports its tasks publish. Pure and
// deterministic.

import { LABELS, ownerOf, type FrozenInput } from '../deploy/container-spec.js';
import type { LiveContainer } from '../deploy/normalise-live.js';
import { swarmServicePlans, type PublishMode, type SwarmServicePlan } from '../deploy/swarm-spec.js';
import { imagePresent, ownedBy, removeActions } from './planner.js';
import type { Action, LiveImage, ServiceOwner } from './types.js';

/** A Swarm service as planning reads it (from GET /services). */
export interface LiveSwarmService {
  id: string;
  name: string;
  /** Version.Index: the update call must name it. */
  version: number;
  labels: Record<string, string>;
  replicas?: number;
  /** UpdateStatus.State: updating, paused, completed, rollback_started, ... */
  updateState?: string;
  updateMessage?: string;
}

/** A Swarm task as planning and waiting read it (from GET /tasks). */
export interface LiveSwarmTask {
  id: string;
  serviceId: string;
  slot?: number;
  nodeId?: string;
  desiredState: string;
  /** Status.State: new, pending, assigned, preparing, starting, running, complete, failed, rejected, shutdown, orphaned, ... */
  state: string;
  message?: string;
  err?: string;
  /** The spec-hash label of the task's container spec (the plan's task hash): which version it runs. */
  taskHash?: string;
  timestamp?: string;
}

export interface SwarmLiveState {
  services: LiveSwarmService[];
  tasks: LiveSwarmTask[];
  /** The manager's own containers, normalised; Swarm task containers among them are left alone. */
  containers: LiveContainer[];
  images: LiveImage[];
}

export interface SwarmPlanOptions {
  publishMode: PublishMode;
  /**
   * Per Swarm service name, the paths where the live service differs from the frozen input (see
   * core/drift/swarm.ts): a service changed on the manager behind Holdfast's back, whose spec-hash
   * label still matches, is updated back to the frozen spec.
   */
  fieldDrift?: Record<string, readonly string[]>;
}

/** Docker's label on the containers of Swarm tasks. */
export const SWARM_TASK_LABEL = 'com.docker.swarm.task.id';

/** The raw shapes of GET /services and GET /tasks items this module reads. */
interface RawService {
  ID: string;
  Version?: { Index?: number };
  Spec?: { Name?: string; Labels?: Record<string, string> | null; Mode?: { Replicated?: { Replicas?: number } } };
  UpdateStatus?: { State?: string; Message?: string } | null;
}

interface RawTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Status?: { State?: string; Message?: string; Err?: string; Timestamp?: string };
  Spec?: { ContainerSpec?: { Labels?: Record<string, string> | null } };
}

export function liveSwarmService(raw: RawService): LiveSwarmService {
  const out: LiveSwarmService = { id: raw.ID, name: raw.Spec?.Name ?? '', version: raw.Version?.Index ?? 0, labels: { ...(raw.Spec?.Labels ?? {}) } };
  const replicas = raw.Spec?.Mode?.Replicated?.Replicas;
  if (replicas !== undefined) out.replicas = replicas;
  if (raw.UpdateStatus?.State) out.updateState = raw.UpdateStatus.State;
  if (raw.UpdateStatus?.Message) out.updateMessage = raw.UpdateStatus.Message;
  return out;
}

export function liveSwarmTask(raw: RawTask): LiveSwarmTask {
  const out: LiveSwarmTask = { id: raw.ID, serviceId: raw.ServiceID ?? '', desiredState: raw.DesiredState ?? '', state: raw.Status?.State ?? '' };
  if (raw.Slot !== undefined) out.slot = raw.Slot;
  if (raw.NodeID) out.nodeId = raw.NodeID;
  if (raw.Status?.Message) out.message = raw.Status.Message;
  if (raw.Status?.Err) out.err = raw.Status.Err;
  if (raw.Status?.Timestamp) out.timestamp = raw.Status.Timestamp;
  const hash = raw.Spec?.ContainerSpec?.Labels?.[LABELS.specHash];
  if (hash) out.taskHash = hash;
  return out;
}

/** Task states that will not become running again. */
const ENDED = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);

/** How far the tasks of one version of a service are: running ones, failed ones (with their errors), the rest. */
export interface TaskProgress {
  running: number;
  failed: LiveSwarmTask[];
  /** Tasks of another version still meant to run. */
  old: number;
  /** A sentence: `1/2 running; slot 2 starting`. */
  summary: string;
}

export function taskProgress(tasks: readonly LiveSwarmTask[], serviceId: string, taskHash: string, replicas: number): TaskProgress {
  const ofService = tasks.filter((t) => t.serviceId === serviceId);
  const current = ofService.filter((t) => t.taskHash === taskHash);
  const running = current.filter((t) => t.desiredState === 'running' && t.state === 'running').length;
  const failed = current.filter((t) => t.state === 'failed' || t.state === 'rejected' || (ENDED.has(t.state) && !!t.err));
  const old = ofService.filter((t) => t.taskHash !== taskHash && t.desiredState === 'running' && !ENDED.has(t.state)).length;
  const others = current
    .filter((t) => t.desiredState === 'running' && t.state !== 'running')
    .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0))
    .map((t) => `slot ${t.slot ?? '?'} ${t.state}${t.err ? ` (${t.err})` : ''}`);
  const parts = [`${running}/${replicas} running`, ...others];
  if (old > 0) parts.push(`${old} task(s) of the previous version still running`);
  return { running, failed, old, summary: parts.join('; ') };
}

function describeServiceOwner(service: LiveSwarmService): string {
  const o = ownerOf(service.labels);
  return o ? `which belongs to Service ${o.project}/${o.service} (environment ${o.environment})` : 'which Holdfast does not manage (no holdfast.dev/managed-by label)';
}

/**
 * The actions that make the manager run `frozen` as Swarm service(s). A service name taken by a
 * service that is not the Service's, or a frozen input that cannot run on Swarm, makes the plan
 * only `fail` actions saying what.
 */
export function planSwarmRollout(frozen: FrozenInput, live: SwarmLiveState, options: SwarmPlanOptions): Action[] {
  const owner: ServiceOwner = { project: frozen.project, environment: frozen.environment, service: frozen.service.name };
  let plans: SwarmServicePlan[];
  try {
    plans = swarmServicePlans(frozen, options);
  } catch (err) {
    return [{ type: 'fail', target: frozen.service.name, reason: (err as Error).message }];
  }
  const fails: Action[] = [];
  const images: Action[] = [];
  const services: Action[] = [];
  const deadlineSeconds = frozen.update.healthDeadlineSeconds;
  for (const plan of plans) {
    const existing = live.services.find((s) => s.name === plan.name);
    if (existing && !ownedBy({ labels: existing.labels }, owner)) {
      fails.push({ type: 'fail', target: plan.name, reason: `Swarm service name ${plan.name} is taken by service ${existing.id.slice(0, 12)} ${describeServiceOwner(existing)}; Holdfast will not touch it` });
      continue;
    }
    const hostIPs = plan.container.ports.filter((p) => p.hostIP !== undefined);
    if (hostIPs.length > 0) {
      fails.push({ type: 'fail', target: plan.name, reason: `Swarm publishes a port on every address of its nodes: hostIP ${hostIPs.map((p) => `${p.hostIP} (port ${p.hostPort})`).join(', ')} cannot be honoured on a Swarm manager; drop hostIP` });
      continue;
    }
    const readiness = frozen.components.find((c) => c.name === plan.component)?.readiness;
    const unprobed = readiness ? ' (the http/tcp readiness probe is not run against Swarm tasks: a running task counts as ready; declare healthcheck.exec for Docker to check them)' : '';
    const wait: Action = { type: 'wait-service', target: plan.name, service: plan, deadlineSeconds, reason: `wait until ${plan.replicas} task(s) of the new spec run${plan.healthcheck ? ' and Docker reports them healthy' : ''}${unprobed}` };
    const note = plan.orderNote ? ` (${plan.orderNote})` : '';
    if (!existing) {
      images.push(...imageActions(frozen, plan, live.images));
      services.push({ type: 'create-service', target: plan.name, service: plan, reason: `Swarm service ${plan.name} does not exist; ${plan.replicas} replica(s), ports published in mode ${plan.publishMode}${note}` }, wait);
      continue;
    }
    const update = (reason: string) =>
      services.push({ type: 'update-service', target: plan.name, service: plan, serviceId: existing.id, version: existing.version, reason }, wait);
    const liveHash = existing.labels[LABELS.specHash];
    if (liveHash !== plan.specHash) {
      images.push(...imageActions(frozen, plan, live.images));
      update(`${liveHash ? 'the spec changed' : 'the service has no spec-hash label'}: rolling update ${plan.order}${note}`);
      continue;
    }
    const drifted = options.fieldDrift?.[plan.name] ?? [];
    if (drifted.length > 0) {
      update(`${plan.name} was changed on the manager (${drifted.join(', ')}): updating it back to the frozen spec`);
      continue;
    }
    if (existing.updateState === 'paused' || existing.updateState === 'rollback_paused') {
      update(`the update of ${plan.name} is ${existing.updateState}${existing.updateMessage ? ` (${existing.updateMessage})` : ''}: taking it up again`);
      continue;
    }
    const progress = taskProgress(live.tasks, existing.id, plan.taskHash, plan.replicas);
    if (progress.running < plan.replicas || progress.old > 0) {
      services.push({ ...wait, reason: `${plan.name} runs the frozen spec but not all its tasks: ${progress.summary}` });
    }
  }
  if (fails.length > 0) return fails;

  // Containers the Service ran on the manager's engine before it ran as a Swarm service.
  const leftovers: Action[] = [];
  const why = `the Service runs as Swarm service ${plans.map((p) => p.name).join(', ')} now`;
  for (const c of live.containers) {
    if (c.labels[SWARM_TASK_LABEL] !== undefined || !ownedBy(c, owner)) continue;
    leftovers.push(...removeActions(c, why));
  }
  return [...images, ...leftovers, ...services];
}

/** A build the manager must run, or a pull so the manager's own tasks start without a registry round trip. */
function imageActions(frozen: FrozenInput, plan: SwarmServicePlan, images: readonly LiveImage[]): Action[] {
  const c = plan.container;
  if (imagePresent(c.image, c.imageDigest, images)) return [];
  const component = frozen.components.find((x) => x.name === plan.component);
  if (component?.build) {
    return [{ type: 'build', target: c.image, image: c.image, component: component.name, build: component.build, reason: `image ${c.image} is not on the manager; build it from ${component.build.git ? component.build.git.url : component.build.context}` }];
  }
  const pull: Action = { type: 'pull', target: c.image, image: c.image, reason: `image ${c.image} is not on the manager` };
  if (c.imageDigest) pull.digest = c.imageDigest;
  return [pull];
}

/** Deleting the Service: its Swarm services, by their ownership labels. */
export function planSwarmDeletion(services: readonly LiveSwarmService[], owner: ServiceOwner): Action[] {
  const why = `Service ${owner.project}/${owner.service} (${owner.environment}) is being deleted`;
  return services.filter((s) => ownedBy({ labels: s.labels }, owner)).map((s) => ({ type: 'remove-service', target: s.name, serviceId: s.id, reason: why }));
}
