// The rollout planner for a Service that runs as Swarm services on a manager (one for an image or
// build source, a stack of them for a compose source): frozen input + the manager's services, tasks,
// networks, containers and images → actions, each with its reason. Create a service when it does not
// exist, update it when its spec hash differs (or a paused update is to be taken up again), wait for
// the tasks of the spec when fewer than declared run, and nothing when it runs as frozen. Containers
// the Service ran before on the manager's own engine (before it ran on Swarm) go first: they may
// hold the host ports its tasks publish; then the Service's services that are no longer declared.
// The stack's overlay networks are created before the services that join them and removed after
// the last one leaves. Pure and deterministic.

import { LABELS, ownerOf, type FrozenInput } from '../deploy/container-spec.js';
import type { LiveContainer } from '../deploy/normalise-live.js';
import { desiredTasks, swarmServicePlans, type PublishMode, type SwarmServicePlan } from '../deploy/swarm-spec.js';
import { unplaceable, type PlacementNode } from '../swarm/placement.js';
import { imagePresent, ownedBy, removeActions } from './planner.js';
import type { Action, LiveImage, LiveNetwork, ServiceOwner } from './types.js';

/** A Swarm service as planning reads it (from GET /services). */
export interface LiveSwarmService {
  id: string;
  name: string;
  /** Version.Index: the update call must name it. */
  version: number;
  labels: Record<string, string>;
  replicas?: number;
  /** Mode global (one task on every suitable node) rather than replicated. */
  global?: boolean;
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
  /** The image reference the task runs (with its digest when pinned). */
  image?: string;
  /** The exit code of the task's container, once it ended. */
  exitCode?: number;
}

export interface SwarmLiveState {
  services: LiveSwarmService[];
  tasks: LiveSwarmTask[];
  /** The swarm's nodes: a placement no ready and active node satisfies fails the plan. */
  nodes?: PlacementNode[];
  /** The manager's own containers, normalised; Swarm task containers among them are left alone. */
  containers: LiveContainer[];
  /** The manager's networks, the swarm's overlay networks among them. */
  networks: LiveNetwork[];
  /** The swarm's configs and secrets named like the Service's. */
  files: LiveSwarmFile[];
  images: LiveImage[];
}

/** A Swarm config or secret as planning reads it (from GET /configs, GET /secrets). */
export interface LiveSwarmFile {
  kind: 'config' | 'secret';
  id: string;
  name: string;
  labels: Record<string, string>;
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
  Spec?: { Name?: string; Labels?: Record<string, string> | null; Mode?: { Replicated?: { Replicas?: number }; Global?: object } };
  UpdateStatus?: { State?: string; Message?: string } | null;
}

export interface RawTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Status?: { State?: string; Message?: string; Err?: string; Timestamp?: string; ContainerStatus?: { ExitCode?: number } };
  Spec?: { ContainerSpec?: { Image?: string; Labels?: Record<string, string> | null } };
}

/** Task states that will not become running again. */
export const ENDED_TASK_STATES: ReadonlySet<string> = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);

export function liveSwarmService(raw: RawService): LiveSwarmService {
  const out: LiveSwarmService = { id: raw.ID, name: raw.Spec?.Name ?? '', version: raw.Version?.Index ?? 0, labels: { ...(raw.Spec?.Labels ?? {}) } };
  const replicas = raw.Spec?.Mode?.Replicated?.Replicas;
  if (replicas !== undefined) out.replicas = replicas;
  if (raw.Spec?.Mode?.Global) out.global = true;
  if (raw.UpdateStatus?.State) out.updateState = raw.UpdateStatus.State;
  if (raw.UpdateStatus?.Message) out.updateMessage = raw.UpdateStatus.Message;
  return out;
}

export function liveSwarmFile(kind: LiveSwarmFile['kind'], raw: { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> | null } }): LiveSwarmFile {
  return { kind, id: raw.ID, name: raw.Spec?.Name ?? '', labels: { ...(raw.Spec?.Labels ?? {}) } };
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
  if (raw.Spec?.ContainerSpec?.Image) out.image = raw.Spec.ContainerSpec.Image;
  // A task that has not ended reports exit code 0 as well: only an ended task's code says anything.
  const code = raw.Status?.ContainerStatus?.ExitCode;
  if (code !== undefined && ENDED_TASK_STATES.has(out.state)) out.exitCode = code;
  return out;
}

/** How far the tasks of one version of a service are: running ones, failed ones (with their errors), the rest. */
export interface TaskProgress {
  running: number;
  failed: LiveSwarmTask[];
  /** Tasks of another version still meant to run. */
  old: number;
  /** A sentence: `1/2 running; slot 2 starting`. */
  summary: string;
}

/**
 * `nodeNames` (node ID → hostname) names the nodes in the summary; without it they are counted only.
 */
export function taskProgress(tasks: readonly LiveSwarmTask[], serviceId: string, taskHash: string, replicas: number, nodeNames?: ReadonlyMap<string, string>): TaskProgress {
  const ofService = tasks.filter((t) => t.serviceId === serviceId);
  const current = ofService.filter((t) => t.taskHash === taskHash);
  const runningTasks = current.filter((t) => t.desiredState === 'running' && t.state === 'running');
  const running = runningTasks.length;
  const nodes = new Set(runningTasks.map((t) => t.nodeId ?? '?'));
  const failed = current.filter((t) => t.state === 'failed' || t.state === 'rejected' || (ENDED_TASK_STATES.has(t.state) && !!t.err));
  const old = ofService.filter((t) => t.taskHash !== taskHash && t.desiredState === 'running' && !ENDED_TASK_STATES.has(t.state)).length;
  const others = current
    .filter((t) => t.desiredState === 'running' && t.state !== 'running')
    .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0))
    .map((t) => `slot ${t.slot ?? '?'} ${t.state}${t.nodeId ? ` on ${nodeNames?.get(t.nodeId) ?? t.nodeId.slice(0, 12)}` : ''}${t.err ? ` (${t.err})` : ''}`);
  const parts = [running > 0 ? `${running}/${replicas} running on ${nodes.size} node${nodes.size === 1 ? '' : 's'}` : `${running}/${replicas} running`, ...others];
  if (old > 0) parts.push(`${old} task(s) of the previous version still running`);
  return { running, failed, old, summary: parts.join('; ') };
}

/** `slot 2 on hf-h2 failed, exit code 3: task: non-zero exit (3)`: a failed task as the rollout reports it. */
export function describeTaskFailure(t: LiveSwarmTask, nodeNames?: ReadonlyMap<string, string>): string {
  const node = t.nodeId ? ` on ${nodeNames?.get(t.nodeId) ?? t.nodeId.slice(0, 12)}` : '';
  const code = t.exitCode !== undefined ? `, exit code ${t.exitCode}` : '';
  return `slot ${t.slot ?? '?'}${node} ${t.state}${code}: ${t.err ?? t.message ?? 'no error reported'}`;
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
    // A global service needs one suitable node; a replicated one a node for every replica allowed per node.
    const placementProblem = live.nodes && (plan.constraints.length > 0 || plan.maxReplicasPerNode !== undefined)
      ? unplaceable(live.nodes, { constraints: plan.constraints, spread: plan.spread, maxReplicasPerNode: plan.maxReplicasPerNode }, plan.global ? 1 : plan.replicas)
      : undefined;
    if (placementProblem) {
      fails.push({ type: 'fail', target: plan.name, failure: 'NoSuitableNode', reason: `Swarm cannot place its tasks: ${placementProblem}` });
      continue;
    }
    const readiness = frozen.components.find((c) => c.name === plan.component)?.readiness;
    const probed = readiness ? ', each passing its http/tcp readiness probe from the node that runs it' : '';
    const tasksWanted = plan.global ? 'one task of the new spec runs on every suitable node' : `${plan.replicas} task(s) of the new spec run`;
    const wait: Action = { type: 'wait-service', target: plan.name, service: plan, deadlineSeconds, reason: `wait until ${tasksWanted}${plan.healthcheck ? ' and Docker reports them healthy' : ''}${probed}` };
    const note = plan.adjustedNote ? ` (${plan.adjustedNote})` : '';
    if (!existing) {
      images.push(...imageActions(frozen, plan, live.images));
      services.push({ type: 'create-service', target: plan.name, service: plan, reason: `Swarm service ${plan.name} does not exist; ${plan.global ? 'mode global' : `${plan.replicas} replica(s)`}, ports published in mode ${plan.publishMode}${note}` }, wait);
      continue;
    }
    const update = (reason: string) =>
      services.push({ type: 'update-service', target: plan.name, service: plan, serviceId: existing.id, version: existing.version, reason }, wait);
    const liveHash = existing.labels[LABELS.specHash];
    if (!!existing.global !== !!plan.global) {
      // Swarm refuses to change a service's mode in place (Unimplemented): it is made again.
      images.push(...imageActions(frozen, plan, live.images));
      const from = existing.global ? 'global' : 'replicated';
      services.push(
        { type: 'remove-service', target: plan.name, serviceId: existing.id, reason: `its mode changes from ${from} to ${plan.global ? 'global' : 'replicated'}, which Swarm cannot do in place: the service is removed and created again (its tasks stop meanwhile)` },
        { type: 'create-service', target: plan.name, service: plan, reason: `Swarm service ${plan.name} made again in mode ${plan.global ? 'global' : `replicated, ${plan.replicas} replica(s)`}, ports published in mode ${plan.publishMode}${note}` },
        wait,
      );
      continue;
    }
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
    const desired = live.nodes ? desiredTasks(plan, live.nodes) : plan.replicas;
    const progress = taskProgress(live.tasks, existing.id, plan.taskHash, desired);
    if (progress.running < desired || progress.old > 0) {
      services.push({ ...wait, reason: `${plan.name} runs the frozen spec but not all its tasks: ${progress.summary}` });
    }
  }
  const networks = planSwarmNetworks(frozen, live.networks, owner);
  const files = planSwarmFiles(plans, live.files, owner);
  fails.push(...networks.fails, ...files.fails);
  if (fails.length > 0) return fails;

  // Containers the Service ran on the manager's engine before it ran on Swarm.
  const leftovers: Action[] = [];
  const why = `the Service runs as Swarm service ${plans.map((p) => p.name).join(', ')} now`;
  for (const c of live.containers) {
    if (c.labels[SWARM_TASK_LABEL] !== undefined || !ownedBy(c, owner)) continue;
    leftovers.push(...removeActions(c, why));
  }
  // The Service's Swarm services that are no longer declared (a compose service dropped from the file).
  const declared = new Set(plans.map((p) => p.name));
  const dropped: Action[] = live.services
    .filter((s) => !declared.has(s.name) && ownedBy({ labels: s.labels }, owner))
    .map((s) => ({ type: 'remove-service', target: s.name, serviceId: s.id, reason: `${s.name} is no longer declared` }));
  return [...images, ...leftovers, ...dropped, ...networks.before, ...files.before, ...services, ...files.after, ...networks.after];
}

/**
 * The configs and secrets the tasks mount, each version created before the services that mount it;
 * the Service's versions no service mounts any more are removed once the services run without them
 * (a rollback through Swarm needs the previous ones until then).
 */
function planSwarmFiles(plans: readonly SwarmServicePlan[], live: readonly LiveSwarmFile[], owner: ServiceOwner): { fails: Action[]; before: Action[]; after: Action[] } {
  const fails: Action[] = [];
  const before: Action[] = [];
  const wanted = new Map(plans.flatMap((p) => p.files).map((f) => [`${f.kind}/${f.name}`, f]));
  for (const f of wanted.values()) {
    const existing = live.find((l) => l.kind === f.kind && l.name === f.name);
    if (!existing) before.push({ type: 'create-swarm-file', target: f.name, file: f, reason: `the ${f.kind} ${f.file.name} (version ${f.name.slice(-12)}) does not exist` });
    else if (!ownedBy({ labels: existing.labels }, owner)) fails.push({ type: 'fail', target: f.name, reason: `Swarm ${f.kind} ${f.name} exists and is not the Service's; Holdfast will not use it` });
  }
  const after: Action[] = live
    .filter((l) => !wanted.has(`${l.kind}/${l.name}`) && ownedBy({ labels: l.labels }, owner))
    .map((l) => ({ type: 'remove-swarm-file', target: l.name, kind: l.kind, objectId: l.id, reason: `no service of the Service mounts this version of the ${l.kind} any more` }));
  return { fails, before, after };
}

/**
 * The stack's networks: each declared one created when missing (one of the Service's own with
 * another driver, left from when it ran as containers, is replaced); an external one must exist;
 * the Service's networks no longer declared are removed once the services have left them.
 */
function planSwarmNetworks(frozen: FrozenInput, live: readonly LiveNetwork[], owner: ServiceOwner): { fails: Action[]; before: Action[]; after: Action[] } {
  const fails: Action[] = [];
  const before: Action[] = [];
  for (const network of frozen.networks) {
    const existing = live.find((n) => n.name === network.name);
    if (network.external) {
      if (!existing) fails.push({ type: 'fail', target: network.name, reason: `external network ${network.name} does not exist on the swarm of server ${frozen.target.server}; create it (docker network create --driver overlay --attachable), or drop external: true` });
      continue;
    }
    if (existing && (!network.driver || existing.driver === network.driver)) continue;
    if (existing && !ownedBy({ labels: existing.labels }, owner)) {
      fails.push({ type: 'fail', target: network.name, reason: `network ${network.name} exists with driver ${existing.driver ?? 'unknown'}, not ${network.driver}, and is not the Service's; Holdfast will not replace it` });
      continue;
    }
    if (existing) before.push({ type: 'remove-network', target: network.name, networkId: existing.id, reason: `network ${network.name} has driver ${existing.driver ?? 'unknown'}; the stack needs ${network.driver}` });
    before.push({ type: 'create-network', target: network.name, network, reason: `network ${network.name} does not exist${network.attachable ? ' (attachable)' : ''}` });
  }
  const declared = new Set(frozen.networks.map((n) => n.name));
  const after: Action[] = live
    .filter((n) => !declared.has(n.name) && ownedBy({ labels: n.labels }, owner))
    .map((n) => ({ type: 'remove-network', target: n.name, networkId: n.id, reason: `network ${n.name} is no longer declared` }));
  return { fails, before, after };
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

/** Deleting the Service: its Swarm services, then its configs and secrets, by their ownership labels. */
export function planSwarmDeletion(services: readonly LiveSwarmService[], owner: ServiceOwner, files: readonly LiveSwarmFile[] = []): Action[] {
  const why = `Service ${owner.project}/${owner.service} (${owner.environment}) is being deleted`;
  return [
    ...services.filter((s) => ownedBy({ labels: s.labels }, owner)).map((s): Action => ({ type: 'remove-service', target: s.name, serviceId: s.id, reason: why })),
    ...files.filter((f) => ownedBy({ labels: f.labels }, owner)).map((f): Action => ({ type: 'remove-swarm-file', target: f.name, kind: f.kind, objectId: f.id, reason: why })),
  ];
}
