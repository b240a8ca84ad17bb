// Renders the Swarm ServiceSpec (POST /services/create, /services/{id}/update) of an image or build
// Service on a Swarm manager, from the same frozen container spec the container path creates
// containers from: image (pinned to its digest when known), entrypoint and command, env, published
// ports, mounts, labels, replicas, restart policy, healthcheck, resources and the update order.
//
// Two hashes, both from the frozen input (secrets as hashes), never from the request body, which
// holds real secret values (send the body, never log it): the task hash (what each task runs: the
// ContainerSpec's spec-hash label, so a scale alone replaces no task) and the spec hash (task hash,
// replicas, update order, publish mode: the service's spec-hash label). Pure.

import { canonicalJson } from '../canonical-json.js';
import {
  BOOKKEEPING_LABELS,
  LABELS,
  serviceObjectPrefix,
  sha256Hex,
  type ContainerSpec,
  type FrozenInput,
  type MountSpec,
  type RestartPolicy,
  type SecretKeyRef,
} from './container-spec.js';
import { imageReference } from './docker-request.js';
import { resolveEnvValue } from './env-secrets.js';
import { NANO_CPUS } from './units.js';

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
    };
    Resources: { Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }; Reservations?: { MemoryBytes?: number } };
    RestartPolicy: { Condition: 'none' | 'on-failure' | 'any'; MaxAttempts?: number };
    LogDriver?: { Name: string; Options: Record<string, string> };
    Placement?: { Platforms?: Array<{ OS?: string; Architecture?: string }> };
  };
  Mode: { Replicated: { Replicas: number } };
  UpdateConfig: { Parallelism: number; Order: 'start-first' | 'stop-first'; FailureAction: 'pause' };
  EndpointSpec: { Mode: 'vip'; Ports: SwarmPortConfig[] };
}

/** What a Swarm service is made from: one component of a frozen input. */
export interface SwarmServicePlan {
  /** Deterministic: `hf_<project>_<env>_<service>`, as the containers' prefix. */
  name: string;
  component: string;
  replicas: number;
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
  /** Why the update order differs from the declared one, when it does. */
  orderNote?: string;
}

/** `hf_<project>_<env>_<service>`: the Swarm service of an image or build Service. */
export function swarmServiceName(frozen: Pick<FrozenInput, 'project' | 'environment' | 'service'>): string {
  return serviceObjectPrefix(frozen.project, frozen.environment, frozen.service.name);
}

/** Labels of the tasks: the frozen container's, without the replica (Swarm numbers slots itself) and bookkeeping. */
function taskLabels(container: ContainerSpec): Record<string, string> {
  const labels = { ...container.labels };
  delete labels[LABELS.replica];
  for (const key of BOOKKEEPING_LABELS) delete labels[key];
  return labels;
}

/** Whether a frozen input can run as a Swarm service: image and build sources (compose stays containers). */
export function runsAsSwarmService(frozen: Pick<FrozenInput, 'sourceKind'>): boolean {
  return frozen.sourceKind === 'image' || frozen.sourceKind === 'build';
}

/**
 * The Swarm service of a frozen input (an image or build Service has one component). Throws
 * RangeError for a compose source, which runs as containers, and for replicas 0, whose frozen input
 * holds no container to make the tasks from.
 */
export function swarmServicePlans(frozen: FrozenInput, options: SwarmRenderOptions): SwarmServicePlan[] {
  if (!runsAsSwarmService(frozen)) throw new RangeError(`a ${frozen.sourceKind} source does not run as a Swarm service`);
  return frozen.components.map((component) => {
    const container = frozen.containers.find((c) => c.component === component.name) ?? noContainer(frozen, component.name);
    const published = container.ports.some((p) => p.hostPort !== undefined);
    let order = frozen.update.order;
    let orderNote: string | undefined;
    // On one node a host-mode port cannot be held by the old and the new task at once.
    if (order === 'start-first' && options.publishMode === 'host' && published) {
      order = 'stop-first';
      orderNote = 'ports are published in mode host, which the old and the new task cannot hold at once: updated stop-first';
    }
    const healthcheck = !!container.healthcheck && container.healthcheck.test[0] !== 'NONE';
    const plan: Omit<SwarmServicePlan, 'specHash'> = {
      taskHash: swarmTaskHash(container),
      name: swarmServiceName(frozen),
      component: component.name,
      replicas: component.replicas,
      container,
      order,
      publishMode: options.publishMode,
      healthcheck,
    };
    if (orderNote) plan.orderNote = orderNote;
    return { ...plan, specHash: swarmSpecHash(plan) };
  });
}

function noContainer(frozen: FrozenInput, component: string): never {
  throw new RangeError(`Service ${frozen.project}/${frozen.service.name} declares no container for component ${component} (replicas 0 is not supported on a Swarm manager yet)`);
}

/** Stable hash of what each task runs: the frozen container (secrets as hashes) without its name and replica. */
export function swarmTaskHash(container: ContainerSpec): string {
  const { name: _n, replicaIndex: _r, ...template } = container;
  return sha256Hex(canonicalJson({ format: 'swarm-task/1', template: { ...template, labels: taskLabels(container) } }));
}

/** Stable hash of what a Swarm service is: its task hash, replicas, update order and publish mode. */
export function swarmSpecHash(plan: Pick<SwarmServicePlan, 'name' | 'taskHash' | 'replicas' | 'order' | 'publishMode'>): string {
  return sha256Hex(canonicalJson({
    format: 'swarm/1',
    name: plan.name,
    task: plan.taskHash,
    replicas: plan.replicas,
    order: plan.order,
    publishMode: plan.publishMode,
  }));
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

/**
 * The ServiceSpec of a plan. `secretValue` gives the real value of a Secret key the env refers to:
 * the result holds it, so it goes to the manager and nowhere else.
 */
export function swarmServiceSpec(plan: SwarmServicePlan, secretValue: (ref: SecretKeyRef) => string): SwarmServiceSpec {
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

  const resources: SwarmServiceSpec['TaskTemplate']['Resources'] = {};
  const limits: NonNullable<typeof resources.Limits> = {};
  if (c.resources.cpus !== undefined) limits.NanoCPUs = Math.round(c.resources.cpus * NANO_CPUS);
  if (c.resources.memoryBytes !== undefined) limits.MemoryBytes = c.resources.memoryBytes;
  if (c.resources.pidsLimit !== undefined) limits.Pids = c.resources.pidsLimit;
  if (Object.keys(limits).length) resources.Limits = limits;
  if (c.resources.memoryReservationBytes !== undefined) resources.Reservations = { MemoryBytes: c.resources.memoryReservationBytes };

  const task: SwarmServiceSpec['TaskTemplate'] = { ContainerSpec: container, Resources: resources, RestartPolicy: restartPolicy(c.restartPolicy) };
  if (c.logging) task.LogDriver = { Name: c.logging.driver, Options: { ...c.logging.options } };
  if (c.platform) {
    const [os, arch] = c.platform.split('/');
    task.Placement = { Platforms: [{ OS: os, Architecture: arch }] };
  }
  return {
    Name: plan.name,
    Labels: { ...labels, [LABELS.specHash]: plan.specHash },
    TaskTemplate: task,
    Mode: { Replicated: { Replicas: plan.replicas } },
    UpdateConfig: { Parallelism: 1, Order: plan.order, FailureAction: 'pause' },
    EndpointSpec: {
      Mode: 'vip',
      Ports: c.ports.map((p) => {
        const port: SwarmPortConfig = { Protocol: p.protocol, TargetPort: p.containerPort, PublishMode: plan.publishMode };
        if (p.hostPort !== undefined) port.PublishedPort = p.hostPort;
        return port;
      }),
    },
  };
}
