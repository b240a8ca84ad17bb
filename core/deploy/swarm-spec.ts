// Renders the Swarm ServiceSpecs (POST /services/create, /services/{id}/update) of a Service on a
// Swarm manager, from the same frozen container specs the container path creates containers from:
// image (pinned to its digest when known), entrypoint and command, env, published ports, mounts,
// labels, replicas (or mode global), restart policy, healthcheck, resources, placement, networks,
// the configs and secrets its tasks mount (by ID, versioned by content) and the update order. An image or build Service is one Swarm service; a compose Service is a stack,
// one Swarm service per compose service (`<stack>_<compose service>`), as docker stack deploy makes.
//
// Two hashes, both from the frozen input (secrets as hashes), never from the request body, which
// holds real secret values (send the body, never log it): the task hash (what each task runs: the
// ContainerSpec's spec-hash label, so a scale alone replaces no task) and the spec hash (task hash,
// replicas, update order, publish mode: the service's spec-hash label). Pure.

import { canonicalJson } from '../canonical-json.js';
import {
  BOOKKEEPING_LABELS,
  LABELS,
  ownershipLabels,
  serviceObjectPrefix,
  sha256Hex,
  STACK_NAMESPACE_LABEL,
  type ContainerSpec,
  type FileSpec,
  type FrozenInput,
  type MountSpec,
  type RestartPolicy,
  type SecretKeyRef,
  type SwarmRollbackSpec,
} from './container-spec.js';
import { imageReference } from './docker-request.js';
import { resolveEnvValue } from './env-secrets.js';
import { NANO_CPUS } from './units.js';
import { suitableNodes, type PlacementNode } from '../swarm/placement.js';

/**
 * How published ports are published: through the ingress routing mesh (every node answers), or on
 * the node that runs the task only (`host`), for kernels without IPVS.
 */
export type PublishMode = 'ingress' | 'host';

/**
 * How a Swarm manager publishes ports, from its Server status checks: in mode host when the ipvs
 * check found no IPVS in its kernel (the ingress routing mesh would not route), else ingress.
 */
export function publishModeOf(checks: ReadonlyArray<{ name: string; result: string }> | undefined): PublishMode {
  return (checks ?? []).some((c) => c.name === 'ipvs' && c.result !== 'Pass') ? 'host' : 'ingress';
}

export interface SwarmRenderOptions {
  publishMode: PublishMode;
}

export interface SwarmMount {
  Type: 'volume' | 'bind' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] };
}

export interface SwarmPortConfig {
  Protocol: 'tcp' | 'udp' | 'sctp';
  TargetPort: number;
  PublishedPort?: number;
  PublishMode: PublishMode;
}

/** The Engine API ServiceSpec, as far as Holdfast fills it in. */
export interface SwarmServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Labels: Record<string, string>;
      Command?: string[];
      Args?: string[];
      Hostname?: string;
      Env: string[];
      Dir?: string;
      User?: string;
      Groups?: string[];
      TTY?: boolean;
      OpenStdin?: boolean;
      ReadOnly?: boolean;
      Mounts: SwarmMount[];
      StopSignal?: string;
      StopGracePeriod?: number;
      HealthCheck?: { Test: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number; StartInterval?: number };
      Hosts?: string[];
      DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
      Init?: boolean;
      Sysctls?: Record<string, string>;
      CapabilityAdd?: string[];
      CapabilityDrop?: string[];
      Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
      Secrets?: Array<{ File: SwarmFileTarget; SecretID: string; SecretName: string }>;
      Configs?: Array<{ File: SwarmFileTarget; ConfigID: string; ConfigName: string }>;
    };
    Networks?: Array<{ Target: string; Aliases: string[] }>;
    Resources: { Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }; Reservations?: { MemoryBytes?: number } };
    RestartPolicy: { Condition: 'none' | 'on-failure' | 'any'; MaxAttempts?: number };
    LogDriver?: { Name: string; Options: Record<string, string> };
    Placement?: {
      Constraints?: string[];
      Preferences?: Array<{ Spread: { SpreadDescriptor: string } }>;
      Platforms?: Array<{ OS?: string; Architecture?: string }>;
      MaxReplicas?: number;
    };
  };
  Mode: { Replicated: { Replicas: number } } | { Global: Record<string, never> };
  UpdateConfig: { Parallelism: number; Order: 'start-first' | 'stop-first'; FailureAction: 'pause'; Delay?: number; Monitor?: number };
  RollbackConfig?: { Parallelism: number; Order: 'start-first' | 'stop-first'; FailureAction: 'pause' | 'continue'; Delay?: number; Monitor?: number; MaxFailureRatio?: number };
  EndpointSpec: { Mode: 'vip' | 'dnsrr'; Ports: SwarmPortConfig[] };
}

/** Where a Swarm secret or config appears in a task's container. */
export interface SwarmFileTarget {
  Name: string;
  UID: string;
  GID: string;
  Mode: number;
}

/**
 * A Swarm config or secret that tasks mount (a compose secret, config, or file mounted from beside
 * the compose file), named by its content: a change is a new version beside the old one.
 */
export interface SwarmFile {
  kind: 'config' | 'secret';
  /** `<stack>_<compose name>_<12 hex of the content hash>`, at most 64 characters. */
  name: string;
  labels: Record<string, string>;
  /** Where the content comes from: a secret's value is resolved at rollout, never frozen. */
  file: FileSpec;
}

/** What a Swarm service is made from: one component of a frozen input. */
export interface SwarmServicePlan {
  /** Deterministic: `hf_<project>_<env>_<service>`, as the containers' prefix; `…_<component>` in a stack. */
  name: string;
  component: string;
  /** Tasks to run; a global service runs one on every suitable node instead (see desiredTasks). */
  replicas: number;
  /** compose deploy.mode global. */
  global?: boolean;
  /** Tasks replaced at once (compose update_config.parallelism; 1 otherwise). */
  parallelism: number;
  delayMs?: number;
  monitorMs?: number;
  endpointMode?: 'dnsrr';
  /** The frozen container the tasks are made from (replica 1; every replica is the same). */
  container: ContainerSpec;
  order: 'start-first' | 'stop-first';
  publishMode: PublishMode;
  /** Whether the tasks report health (a Docker healthcheck is declared). */
  healthcheck: boolean;
  /** What each task runs: the spec-hash label of the ContainerSpec (and so of every task). */
  taskHash: string;
  /** The whole service: the spec-hash label of the service. */
  specHash: string;
  /** What differs from the declaration and why: the update order, one task per node, the endpoint mode. */
  adjustedNote?: string;
  /** Placement's MaxReplicas: as declared, or 1 when several replicas publish a host port in mode host (one task per node). */
  maxReplicasPerNode?: number;
  /** The declared placement constraints (`node.role==worker`). */
  constraints: string[];
  /** Node label keys to spread the tasks over, in order. */
  spread: string[];
  /** The configs and secrets its tasks mount. */
  files: SwarmFile[];
  /** compose deploy.labels: on the service, over its tasks' container labels. */
  serviceLabels?: Record<string, string>;
  /** compose deploy.rollback_config: how Swarm's rollback replaces the tasks; Swarm's defaults when absent. */
  rollback?: SwarmRollbackSpec;
}

/** `hf_<project>_<env>_<service>`: the Swarm service of an image or build Service. */
export function swarmServiceName(frozen: Pick<FrozenInput, 'project' | 'environment' | 'service'>): string {
  return serviceObjectPrefix(frozen.project, frozen.environment, frozen.service.name);
}

/** `hf_<project>_<env>_<service>`: the stack (com.docker.stack.namespace) of a compose Service on a manager. */
export function swarmStackName(owner: { project: string; environment: string; service: string }): string {
  return serviceObjectPrefix(owner.project, owner.environment, owner.service);
}

/** The Swarm service of one compose service in a stack, named as docker stack deploy names it. */
export function stackServiceName(stack: string, component: string): string {
  return `${stack}_${component}`;
}

/** Labels of the tasks: the frozen container's, without the replica (Swarm numbers slots itself) and bookkeeping. */
function taskLabels(container: ContainerSpec): Record<string, string> {
  const labels = { ...container.labels };
  delete labels[LABELS.replica];
  for (const key of BOOKKEEPING_LABELS) delete labels[key];
  return labels;
}

/**
 * The Swarm services of a frozen input, one per component (scaled to zero, from its task template):
 * an image or build Service has one, a compose Service one per compose service. Throws RangeError
 * for what Swarm cannot run as declared, and for an input frozen for another target with replicas 0,
 * which holds no container to make tasks from.
 */
export function swarmServicePlans(frozen: FrozenInput, options: SwarmRenderOptions): SwarmServicePlan[] {
  const stack = frozen.sourceKind === 'compose' ? swarmStackName({ project: frozen.project, environment: frozen.environment, service: frozen.service.name }) : undefined;
  return frozen.components.map((component) => {
    const container = frozen.containers.find((c) => c.component === component.name) ?? component.taskTemplate ?? noContainer(frozen, component.name);
    const published = container.ports.some((p) => p.hostPort !== undefined);
    const name = stack ? stackServiceName(stack, component.name) : swarmServiceName(frozen);
    if (container.networkMode !== undefined) throw new RangeError(`${name}: network mode ${container.networkMode} cannot be used by a Swarm service`);
    if (component.endpointMode === 'dnsrr' && published && options.publishMode === 'ingress') {
      throw new RangeError(`${name}: endpoint_mode dnsrr cannot publish ports through the routing mesh: publish them in mode host, or use vip`);
    }
    let order = component.swarmUpdate?.order ?? frozen.update.order;
    let adjustedNote: string | undefined;
    // On one node a host-mode port cannot be held by the old and the new task at once.
    if (order === 'start-first' && options.publishMode === 'host' && published) {
      order = 'stop-first';
      adjustedNote = 'ports are published in mode host, which the old and the new task cannot hold at once: updated stop-first';
    }
    // Nor by two tasks on one node: each task of several gets a node of its own.
    const declaredMax = component.placement?.maxReplicasPerNode;
    const onePerNode = options.publishMode === 'host' && published && (component.replicas > 1 || !!component.global);
    if (onePerNode && declaredMax !== undefined && declaredMax > 1) {
      const ports = container.ports.filter((p) => p.hostPort !== undefined).map((p) => p.hostPort).join(', ');
      throw new RangeError(`placement.maxReplicasPerNode ${declaredMax} would put several tasks publishing host port ${ports} in mode host on one node: set it to 1 (or leave it out)`);
    }
    if (onePerNode && declaredMax === undefined) {
      const note = `${component.replicas} replicas publish host ports in mode host: placement max_replicas_per_node 1 added, so each runs on a node of its own`;
      adjustedNote = adjustedNote ? `${adjustedNote}; ${note}` : note;
    }
    const healthcheck = !!container.healthcheck && container.healthcheck.test[0] !== 'NONE';
    const prefix = stack ?? name;
    const fileLabels = { ...ownershipLabels({ project: frozen.project, environment: frozen.environment, service: frozen.service.name }), ...(stack ? { [STACK_NAMESPACE_LABEL]: stack } : {}) };
    const plan: Omit<SwarmServicePlan, 'specHash'> = {
      files: swarmFiles(container, prefix, fileLabels),
      taskHash: swarmTaskHash(container),
      name,
      component: component.name,
      replicas: component.replicas,
      parallelism: component.swarmUpdate?.parallelism ?? 1,
      container,
      order,
      publishMode: options.publishMode,
      healthcheck,
      constraints: [...(component.placement?.constraints ?? [])],
      spread: [...(component.placement?.spread ?? [])],
    };
    if (adjustedNote) plan.adjustedNote = adjustedNote;
    // A global service runs one task per node already.
    if (declaredMax !== undefined) plan.maxReplicasPerNode = declaredMax;
    else if (onePerNode && !component.global) plan.maxReplicasPerNode = 1;
    if (component.global) plan.global = true;
    if (component.swarmUpdate?.delayMs !== undefined) plan.delayMs = component.swarmUpdate.delayMs;
    if (component.swarmUpdate?.monitorMs !== undefined) plan.monitorMs = component.swarmUpdate.monitorMs;
    if (component.serviceLabels && Object.keys(component.serviceLabels).length) plan.serviceLabels = { ...component.serviceLabels };
    if (component.swarmRollback) {
      const rollback: SwarmRollbackSpec = { ...component.swarmRollback };
      // As for the update: one node cannot hold a host-mode port for the old and the new task at once.
      if (rollback.order === 'start-first' && options.publishMode === 'host' && published) {
        rollback.order = 'stop-first';
        const note = 'ports are published in mode host: rolled back stop-first';
        plan.adjustedNote = plan.adjustedNote ? `${plan.adjustedNote}; ${note}` : note;
      }
      plan.rollback = rollback;
    }
    if (component.endpointMode) plan.endpointMode = component.endpointMode;
    else if (options.publishMode === 'host' && container.networks.length > 0) {
      // Without IPVS a service's virtual IP does not route: its name resolves to its tasks instead.
      plan.endpointMode = 'dnsrr';
      const note = 'the kernel has no IPVS, so a virtual IP would not route: the service name resolves to its tasks\' addresses (endpoint mode dnsrr)';
      plan.adjustedNote = plan.adjustedNote ? `${plan.adjustedNote}; ${note}` : note;
    }
    return { ...plan, specHash: swarmSpecHash(plan) };
  });
}

/** A Swarm config or secret name holds letters, digits, `-`, `_` and `.`, at most 64 characters. */
const SWARM_FILE_NAME_MAX = 64;

/** The Swarm configs and secrets of a container's files, named `<prefix>_<name>_<content hash>`. */
function swarmFiles(container: ContainerSpec, prefix: string, labels: Record<string, string>): SwarmFile[] {
  return container.files.map((file) => {
    const version = sha256Hex(file.contentHash).slice(0, 12);
    const base = `${prefix}_${file.name.replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^[-_.]+/, '')}`.slice(0, SWARM_FILE_NAME_MAX - version.length - 1);
    return { kind: file.kind === 'secret' ? 'secret' : 'config', name: `${base}_${version}`, labels, file };
  });
}

/** How many tasks a service should run: its replicas, or for a global service one per suitable node of `nodes`. */
export function desiredTasks(plan: Pick<SwarmServicePlan, 'replicas' | 'global' | 'constraints'>, nodes: readonly PlacementNode[]): number {
  return plan.global ? suitableNodes(nodes, plan.constraints).length : plan.replicas;
}

function noContainer(frozen: FrozenInput, component: string): never {
  throw new RangeError(`Service ${frozen.project}/${frozen.service.name} holds no container for component ${component}: deploy it again to render one for the Swarm manager`);
}

/** Stable hash of what each task runs: the frozen container (secrets as hashes) without its name and replica. */
export function swarmTaskHash(container: ContainerSpec): string {
  const { name: _n, replicaIndex: _r, ...template } = container;
  return sha256Hex(canonicalJson({ format: 'swarm-task/1', template: { ...template, labels: taskLabels(container) } }));
}

/**
 * Stable hash of what a Swarm service is: its task hash, replicas or mode, update config, publish
 * mode, endpoint mode and placement (what is not declared leaves earlier hashes as they were).
 */
export function swarmSpecHash(plan: Omit<SwarmServicePlan, 'specHash' | 'container' | 'component' | 'healthcheck' | 'adjustedNote' | 'files'>): string {
  return sha256Hex(canonicalJson({
    format: 'swarm/1',
    name: plan.name,
    task: plan.taskHash,
    ...(plan.global ? { global: true } : { replicas: plan.replicas }),
    order: plan.order,
    publishMode: plan.publishMode,
    ...(plan.parallelism !== 1 ? { parallelism: plan.parallelism } : {}),
    ...(plan.delayMs !== undefined ? { delayMs: plan.delayMs } : {}),
    ...(plan.monitorMs !== undefined ? { monitorMs: plan.monitorMs } : {}),
    ...(plan.endpointMode ? { endpointMode: plan.endpointMode } : {}),
    ...(plan.maxReplicasPerNode !== undefined ? { maxReplicasPerNode: plan.maxReplicasPerNode } : {}),
    ...(plan.constraints.length ? { constraints: plan.constraints } : {}),
    ...(plan.spread.length ? { spread: plan.spread } : {}),
    ...(plan.serviceLabels ? { serviceLabels: plan.serviceLabels } : {}),
    ...(plan.rollback ? { rollback: plan.rollback } : {}),
  }));
}

/** The labels of a Swarm service (its tasks' container labels, and deploy.labels over them) without the spec hash: what drift compares. */
export function swarmServiceLabels(plan: Pick<SwarmServicePlan, 'container' | 'serviceLabels'>): Record<string, string> {
  return { ...taskLabels(plan.container), ...plan.serviceLabels };
}

function restartPolicy(policy: RestartPolicy): SwarmServiceSpec['TaskTemplate']['RestartPolicy'] {
  switch (policy.name) {
    case 'no':
      return { Condition: 'none' };
    case 'on-failure':
      return policy.maximumRetryCount !== undefined ? { Condition: 'on-failure', MaxAttempts: policy.maximumRetryCount } : { Condition: 'on-failure' };
    default:
      return { Condition: 'any' };
  }
}

function mount(m: MountSpec): SwarmMount {
  if (m.type === 'tmpfs') {
    const out: SwarmMount = { Type: 'tmpfs', Target: m.target };
    if (m.readOnly) out.ReadOnly = true;
    const options: SwarmMount['TmpfsOptions'] = {};
    if (m.sizeBytes !== undefined) options.SizeBytes = m.sizeBytes;
    if (m.mode !== undefined) options.Mode = m.mode;
    if (m.tmpfsOptions?.length) options.Options = m.tmpfsOptions.map((o) => o.split('=', 2));
    if (Object.keys(options).length > 0) out.TmpfsOptions = options;
    return out;
  }
  const out: SwarmMount = { Type: m.type, Source: m.source, Target: m.target };
  if (m.readOnly) out.ReadOnly = true;
  if (m.type === 'bind') {
    const bind: NonNullable<SwarmMount['BindOptions']> = {};
    if (m.propagation) bind.Propagation = m.propagation;
    if (m.createHostPath) bind.CreateMountpoint = true;
    if (Object.keys(bind).length > 0) out.BindOptions = bind;
  } else {
    const volume: NonNullable<SwarmMount['VolumeOptions']> = {};
    if (m.noCopy) volume.NoCopy = true;
    if (m.subpath) volume.Subpath = m.subpath;
    if (Object.keys(volume).length > 0) out.VolumeOptions = volume;
  }
  return out;
}

const ns = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1e6));

function rollbackConfig(r: SwarmRollbackSpec): NonNullable<SwarmServiceSpec['RollbackConfig']> {
  const config: NonNullable<SwarmServiceSpec['RollbackConfig']> = { Parallelism: r.parallelism ?? 1, Order: r.order ?? 'stop-first', FailureAction: r.failureAction ?? 'pause' };
  if (r.delayMs !== undefined) config.Delay = ns(r.delayMs);
  if (r.monitorMs !== undefined) config.Monitor = ns(r.monitorMs);
  if (r.maxFailureRatio !== undefined) config.MaxFailureRatio = r.maxFailureRatio;
  return config;
}

/**
 * The ServiceSpec of a plan. `secretValue` gives the real value of a Secret key the env refers to:
 * the result holds it, so it goes to the manager and nowhere else. `fileIds` gives the ID of each
 * Swarm config and secret the tasks mount, by name (they are created before the service).
 */
export function swarmServiceSpec(plan: SwarmServicePlan, secretValue: (ref: SecretKeyRef) => string, fileIds: ReadonlyMap<string, string> = new Map()): SwarmServiceSpec {
  const c = plan.container;
  const labels = taskLabels(c);
  const container: SwarmServiceSpec['TaskTemplate']['ContainerSpec'] = {
    Image: imageReference(c),
    Labels: { ...labels, [LABELS.specHash]: plan.taskHash },
    Env: Object.entries(c.env).map(([key, value]) => `${key}=${resolveEnvValue(value, secretValue)}`),
    Mounts: c.mounts.map(mount),
  };
  if (c.entrypoint !== undefined) container.Command = [...c.entrypoint];
  if (c.command !== undefined) container.Args = [...c.command];
  if (c.hostname !== undefined) container.Hostname = c.hostname;
  if (c.workingDir !== undefined) container.Dir = c.workingDir;
  if (c.user !== undefined) container.User = c.user;
  if (c.groupAdd.length) container.Groups = [...c.groupAdd];
  if (c.tty) container.TTY = true;
  if (c.stdinOpen) container.OpenStdin = true;
  if (c.readOnly) container.ReadOnly = true;
  if (c.stopSignal !== undefined) container.StopSignal = c.stopSignal;
  if (c.stopGraceSeconds !== undefined) container.StopGracePeriod = c.stopGraceSeconds * 1e9;
  if (c.healthcheck) {
    const hc = c.healthcheck;
    const check: NonNullable<typeof container.HealthCheck> = { Test: [...hc.test] };
    if (hc.intervalMs !== undefined) check.Interval = ns(hc.intervalMs);
    if (hc.timeoutMs !== undefined) check.Timeout = ns(hc.timeoutMs);
    if (hc.startPeriodMs !== undefined) check.StartPeriod = ns(hc.startPeriodMs);
    if (hc.startIntervalMs !== undefined) check.StartInterval = ns(hc.startIntervalMs);
    if (hc.retries !== undefined) check.Retries = hc.retries;
    container.HealthCheck = check;
  }
  if (c.extraHosts.length) container.Hosts = c.extraHosts.map((h) => {
    const at = h.indexOf(':');
    return at > 0 ? `${h.slice(at + 1)} ${h.slice(0, at)}` : h;
  });
  if (c.dns.length || c.dnsSearch.length || c.dnsOptions.length) {
    container.DNSConfig = {};
    if (c.dns.length) container.DNSConfig.Nameservers = [...c.dns];
    if (c.dnsSearch.length) container.DNSConfig.Search = [...c.dnsSearch];
    if (c.dnsOptions.length) container.DNSConfig.Options = [...c.dnsOptions];
  }
  if (c.init) container.Init = true;
  if (Object.keys(c.sysctls).length) container.Sysctls = { ...c.sysctls };
  if (c.capAdd.length) container.CapabilityAdd = [...c.capAdd];
  if (c.capDrop.length) container.CapabilityDrop = [...c.capDrop];
  if (c.ulimits.length) container.Ulimits = c.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }));
  for (const f of plan.files) {
    const id = fileIds.get(f.name);
    if (id === undefined) throw new RangeError(`Swarm ${f.kind} ${f.name} does not exist on the manager`);
    // Read-only for everyone unless the compose file says otherwise, as docker stack deploy mounts them.
    const target: SwarmFileTarget = { Name: f.file.target, UID: f.file.uid ?? '0', GID: f.file.gid ?? '0', Mode: f.file.mode ?? 0o444 };
    if (f.kind === 'secret') (container.Secrets ??= []).push({ File: target, SecretID: id, SecretName: f.name });
    else (container.Configs ??= []).push({ File: target, ConfigID: id, ConfigName: f.name });
  }

  const resources: SwarmServiceSpec['TaskTemplate']['Resources'] = {};
  const limits: NonNullable<typeof resources.Limits> = {};
  if (c.resources.cpus !== undefined) limits.NanoCPUs = Math.round(c.resources.cpus * NANO_CPUS);
  if (c.resources.memoryBytes !== undefined) limits.MemoryBytes = c.resources.memoryBytes;
  if (c.resources.pidsLimit !== undefined) limits.Pids = c.resources.pidsLimit;
  if (Object.keys(limits).length) resources.Limits = limits;
  if (c.resources.memoryReservationBytes !== undefined) resources.Reservations = { MemoryBytes: c.resources.memoryReservationBytes };

  const task: SwarmServiceSpec['TaskTemplate'] = { ContainerSpec: container, Resources: resources, RestartPolicy: restartPolicy(c.restartPolicy) };
  // Other services of the stack reach this one by its compose name: an alias on each network.
  if (c.networks.length) task.Networks = c.networks.map((n) => ({ Target: n.name, Aliases: [...n.aliases] }));
  if (c.logging) task.LogDriver = { Name: c.logging.driver, Options: { ...c.logging.options } };
  if (c.platform) {
    const [os, arch] = c.platform.split('/');
    task.Placement = { Platforms: [{ OS: os, Architecture: arch }] };
  }
  if (plan.constraints.length) task.Placement = { ...task.Placement, Constraints: [...plan.constraints] };
  if (plan.spread.length) task.Placement = { ...task.Placement, Preferences: plan.spread.map((label) => ({ Spread: { SpreadDescriptor: label } })) };
  if (plan.maxReplicasPerNode !== undefined) task.Placement = { ...task.Placement, MaxReplicas: plan.maxReplicasPerNode };
  return {
    Name: plan.name,
    Labels: { ...swarmServiceLabels(plan), [LABELS.specHash]: plan.specHash },
    TaskTemplate: task,
    Mode: plan.global ? { Global: {} } : { Replicated: { Replicas: plan.replicas } },
    UpdateConfig: {
      Parallelism: plan.parallelism,
      Order: plan.order,
      FailureAction: 'pause',
      ...(plan.delayMs !== undefined ? { Delay: ns(plan.delayMs) } : {}),
      ...(plan.monitorMs !== undefined ? { Monitor: ns(plan.monitorMs) } : {}),
    },
    ...(plan.rollback ? { RollbackConfig: rollbackConfig(plan.rollback) } : {}),
    EndpointSpec: {
      Mode: plan.endpointMode ?? 'vip',
      Ports: c.ports.map((p) => {
        const port: SwarmPortConfig = { Protocol: p.protocol, TargetPort: p.containerPort, PublishMode: plan.publishMode };
        if (p.hostPort !== undefined) port.PublishedPort = p.hostPort;
        return port;
      }),
    },
  };
}
