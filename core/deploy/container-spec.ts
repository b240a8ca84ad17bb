// The normalised container model. The frozen deployment input, the live view read from a host and
// the drift between them all use this one shape, so a field means the same thing in each view and
// two specs compare field by field. Pure: no I/O.
//
// Conventions that keep equal things equal:
// - lists with set semantics are sorted (see canonicaliseContainerSpec);
// - booleans that default to false are absent rather than false;
// - "all addresses" host IPs (`0.0.0.0`, `::`, ``) are absent;
// - durations are milliseconds, sizes bytes.

import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { Placement } from '../swarm/placement.js';

export const LABELS = {
  managedBy: 'holdfast.dev/managed-by',
  project: 'holdfast.dev/project',
  service: 'holdfast.dev/service',
  environment: 'holdfast.dev/environment',
  specHash: 'holdfast.dev/spec-hash',
  deployment: 'holdfast.dev/deployment',
  replica: 'holdfast.dev/replica',
  component: 'holdfast.dev/component',
} as const;

export const MANAGED_BY = 'holdfast';
export const LABEL_PREFIX = 'holdfast.dev/';

/** Docker's label on the services and networks of a stack: `docker stack ps NAME` lists what carries it. */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';

/** Labels that record how and when an object was made, not what it is: never compared, never hashed. */
export const BOOKKEEPING_LABELS: readonly string[] = [LABELS.specHash, LABELS.deployment];

/** Prefix of every name Holdfast gives to containers, networks and volumes. */
export const NAME_PREFIX = 'hf';

/** Suffix of the container a start-first replacement starts beside the old one. */
export const NEXT_SUFFIX = '.next';

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface HashedSecretRef extends SecretKeyRef {
  secretHash: string;
}

/**
 * An environment value as frozen: a literal; a whole value from a Secret (only its hash is kept);
 * or a template with `${secret:name/key}` placeholders, resolved on the way to the host.
 */
export type EnvValue =
  | { value: string }
  | { secretRef: SecretKeyRef; secretHash: string }
  | { template: string; secrets: HashedSecretRef[] };

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** A port published on the host. `hostPort` absent: Docker picks a free port. */
export interface PortSpec {
  containerPort: number;
  protocol: PortProtocol;
  hostPort?: number;
  /** Absent: every address of the host. */
  hostIP?: string;
}

/** A container port declared but not published (compose `expose`, a Service port without hostPort). */
export interface ExposedPortSpec {
  port: number;
  protocol: PortProtocol;
}

export interface MountSpec {
  type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name (`''` for an anonymous volume), absolute host path for a bind, `''` for tmpfs. */
  source: string;
  target: string;
  readOnly: boolean;
  /** Bind propagation (rprivate, shared, ...), when declared. */
  propagation?: string;
  /** SELinux relabelling of a bind: z (shared) or Z (private). */
  selinux?: 'z' | 'Z';
  /** Create a missing bind source on the host (compose's default for the short syntax). */
  createHostPath?: boolean;
  /** Do not copy the image's content into a new volume. */
  noCopy?: boolean;
  /** Mount only this path inside the volume. */
  subpath?: string;
  /** tmpfs size. */
  sizeBytes?: number;
  /** tmpfs file mode, e.g. 0o1777. */
  mode?: number;
  /** Other tmpfs options (noexec, nosuid, ...), sorted. */
  tmpfsOptions?: string[];
}

/** Where the content of a mounted file comes from. Secret content never appears, only its hash. */
export type FileSource =
  | { secretRef: SecretKeyRef }
  /** A secret file beside the compose file, in deployments recorded before such files were refused: its content never reached the control plane. */
  | { path: string }
  | { contentBase64: string };

/**
 * A file put into the container at `target` (compose secrets and configs, a file bind-mounted from
 * beside the compose file), read-only.
 */
export interface FileSpec {
  kind: 'secret' | 'config' | 'file';
  /** The compose secret or config name, or the relative path of a bind-mounted file. */
  name: string;
  target: string;
  /** sha256 of the content (for Holdfast Secrets: the secret's hash). */
  contentHash: string;
  source: FileSource;
  mode?: number;
  uid?: string;
  gid?: string;
}

export interface NetworkAttachment {
  /** Docker network name. */
  name: string;
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
}

export type RestartPolicyName = 'no' | 'always' | 'on-failure' | 'unless-stopped';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** Only for on-failure; absent means unlimited. */
  maximumRetryCount?: number;
}

/** A Docker healthcheck: test is ['CMD', ...], ['CMD-SHELL', cmd] or ['NONE'] (disabled). */
export interface HealthcheckSpec {
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  startPeriodMs?: number;
  startIntervalMs?: number;
  retries?: number;
}

export interface ResourcesSpec {
  cpus?: number;
  memoryBytes?: number;
  memoryReservationBytes?: number;
  pidsLimit?: number;
}

export interface UlimitSpec {
  name: string;
  soft: number;
  hard: number;
}

export interface DeviceSpec {
  source: string;
  target: string;
  permissions: string;
}

export interface LoggingSpec {
  driver: string;
  options: Record<string, string>;
}

/** Everything about one container that has a meaning on Docker Engine. */
export interface ContainerSpec {
  /** Deterministic Docker name (see containerName), or the compose container_name. */
  name: string;
  project: string;
  environment: string;
  service: string;
  /** The compose service name; the Service's own name for image and build sources. */
  component: string;
  /** 1-based, as compose numbers replicas. */
  replicaIndex: number;
  image: string;
  /** sha256:… repository digest of the image, when known. */
  imageDigest?: string;
  command?: string[];
  entrypoint?: string[];
  env: Record<string, EnvValue>;
  ports: PortSpec[];
  exposedPorts: ExposedPortSpec[];
  mounts: MountSpec[];
  files: FileSpec[];
  labels: Record<string, string>;
  /** User-defined networks; empty with the default bridge or a networkMode. */
  networks: NetworkAttachment[];
  /** host, none, container:NAME; absent for bridge and user-defined networks. */
  networkMode?: string;
  restartPolicy: RestartPolicy;
  healthcheck?: HealthcheckSpec;
  resources: ResourcesSpec;
  user?: string;
  workingDir?: string;
  hostname?: string;
  domainname?: string;
  stopSignal?: string;
  stopGraceSeconds?: number;
  init?: boolean;
  tty?: boolean;
  stdinOpen?: boolean;
  privileged?: boolean;
  readOnly?: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  sysctls: Record<string, string>;
  ulimits: UlimitSpec[];
  shmSizeBytes?: number;
  devices: DeviceSpec[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** `host:ip` entries for /etc/hosts. */
  extraHosts: string[];
  groupAdd: string[];
  logging?: LoggingSpec;
  /** os/arch[/variant], e.g. linux/amd64. */
  platform?: string;
  runtime?: string;
}

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface DependencySpec {
  component: string;
  condition: DependencyCondition;
  /** When false, a missing or failed dependency does not block the dependent. */
  required: boolean;
  /** Restart the dependent when the dependency is replaced. */
  restart: boolean;
}

/** A readiness probe Holdfast runs from the host against each new container. */
export interface ReadinessProbe {
  http?: { path: string; port: number };
  tcp?: { port: number };
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  /** Consecutive passes that make a failing container ready again; 1 when absent. */
  successThreshold?: number;
  startPeriodSeconds: number;
}

export interface BuildSpec {
  /** Build context: a directory relative to the manifest's directory, or inside the git checkout. */
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  target?: string;
  git?: { url: string; ref?: string };
  /** sha256:… of the context tar `holdfast apply` uploaded (a directory beside the manifest). */
  contextDigest?: string;
}

/** One compose service (or the single container template of an image or build Service). */
export interface ComponentSpec {
  name: string;
  replicas: number;
  image: string;
  build?: BuildSpec;
  dependsOn: DependencySpec[];
  readiness?: ReadinessProbe;
  /** Runs to completion (a dependency with condition service_completed_successfully): exit 0 is done. */
  runsToCompletion: boolean;
  /**
   * A Swarm service scaled to zero: the container its tasks would run (the frozen input holds no
   * replica's container then), so the service keeps its spec and scales back up to the same tasks.
   */
  taskTemplate?: ContainerSpec;
  /** Where a Swarm service's tasks may run (spec.placement, compose deploy.placement). */
  placement?: Placement;
  /** Swarm only (compose deploy.mode global): one task on every node the placement allows, instead of `replicas`. */
  global?: boolean;
  /** Swarm only (compose deploy.update_config): how the tasks are replaced; the Service's update.order otherwise. */
  swarmUpdate?: SwarmUpdateSpec;
  /** Swarm only (compose deploy.rollback_config): how Swarm's rollback replaces them; Swarm's defaults otherwise. */
  swarmRollback?: SwarmRollbackSpec;
  /** Swarm only (compose deploy.endpoint_mode dnsrr): the service name resolves to its tasks' addresses, not a virtual IP. */
  endpointMode?: 'dnsrr';
  /** Swarm only (compose deploy.labels): labels of the Swarm service itself, beside its tasks' container labels. */
  serviceLabels?: Record<string, string>;
}

export interface SwarmUpdateSpec {
  order?: UpdateOrder;
  /** Tasks replaced at once; 0 replaces them all at once. */
  parallelism?: number;
  delayMs?: number;
  monitorMs?: number;
}

/** compose deploy.rollback_config: how Swarm puts the previous spec back when a rollout is rolled back. */
export interface SwarmRollbackSpec extends SwarmUpdateSpec {
  /** What Swarm does when a task of the rollback fails (pause by default). */
  failureAction?: 'pause' | 'continue';
  /** The share of tasks that may fail during the rollback, 0 to 1. */
  maxFailureRatio?: number;
}

export interface NetworkSpec {
  /** Name in the compose file (`default` for the implicit one). */
  key: string;
  /** Docker network name. */
  name: string;
  external: boolean;
  driver?: string;
  driverOpts: Record<string, string>;
  internal?: boolean;
  attachable?: boolean;
  enableIpv6?: boolean;
  labels: Record<string, string>;
}

export interface VolumeSpec {
  /** Name in the compose file or the Service. */
  key: string;
  /** Docker volume name. */
  name: string;
  external: boolean;
  driver?: string;
  driverOpts: Record<string, string>;
  labels: Record<string, string>;
}

export type UpdateOrder = 'start-first' | 'stop-first';

export interface UpdateStrategy {
  order: UpdateOrder;
  healthDeadlineSeconds: number;
  autoRollback: boolean;
}

export type SourceKind = 'image' | 'compose' | 'build';

/** The immutable input of one deployment: everything needed to (re)create the service exactly. */
export interface FrozenInput {
  formatVersion: 1;
  service: { namespace: string; name: string; uid: string };
  project: string;
  environment: string;
  generation: number;
  /** Identifier of the deployment this input was frozen for, when known. */
  deployment?: string;
  target: { server: string };
  sourceKind: SourceKind;
  sourceCommit?: string;
  /** The compose file's top-level `name`, kept for reference. */
  composeProject?: string;
  components: ComponentSpec[];
  containers: ContainerSpec[];
  networks: NetworkSpec[];
  volumes: VolumeSpec[];
  update: UpdateStrategy;
  deletionPolicy: 'Retain' | 'Delete';
  /** Every Secret key the executor must resolve to create the containers, with its hash. */
  secretRefs: HashedSecretRef[];
  /** Things that were accepted but have no effect on Docker Engine. */
  warnings: string[];
  /** Hash of everything above except generation, deployment and warnings. */
  specHash: string;
}

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** True when `name` is a valid Docker container, network or volume name. */
export function isDockerName(name: string): boolean {
  return DOCKER_NAME.test(name);
}

/** `hf_<project>_<environment>_<service>`: the prefix of every object of one Service. */
export function serviceObjectPrefix(project: string, environment: string, service: string): string {
  return `${NAME_PREFIX}_${project}_${environment}_${service}`;
}

/**
 * The deterministic container name: `hf_<project>_<env>_<service>[_<component>]_<replica>`.
 * Project, environment and service are DNS-1123 labels (no `_`), so the name parses back
 * unambiguously; the component (a compose service name) is included for compose sources only.
 */
export function containerName(
  project: string,
  environment: string,
  service: string,
  component: string | undefined,
  replicaIndex: number,
): string {
  if (!Number.isInteger(replicaIndex) || replicaIndex < 1) {
    throw new RangeError(`replica index must be a positive integer, got ${replicaIndex}`);
  }
  const parts = [serviceObjectPrefix(project, environment, service)];
  if (component) parts.push(component);
  parts.push(String(replicaIndex));
  const name = parts.join('_');
  if (!isDockerName(name)) throw new RangeError(`"${name}" is not a valid Docker container name`);
  return name;
}

/** Name of the container a start-first replacement runs beside `name` until it is healthy. */
export function nextContainerName(name: string): string {
  return `${name}${NEXT_SUFFIX}`;
}

/** `hf_<project>_<env>_<service>_<key>` for a named volume or network the Service owns. */
export function ownedObjectName(project: string, environment: string, service: string, key: string): string {
  return `${serviceObjectPrefix(project, environment, service)}_${key}`;
}

export interface OwnershipInput {
  project: string;
  environment: string;
  service: string;
  component?: string;
  replicaIndex?: number;
  deployment?: string;
  specHash?: string;
}

/** The labels that mark an object as Holdfast's and say whose it is. */
export function ownershipLabels(input: OwnershipInput): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.project]: input.project,
    [LABELS.environment]: input.environment,
    [LABELS.service]: input.service,
  };
  if (input.component !== undefined) labels[LABELS.component] = input.component;
  if (input.replicaIndex !== undefined) labels[LABELS.replica] = String(input.replicaIndex);
  if (input.deployment !== undefined) labels[LABELS.deployment] = input.deployment;
  if (input.specHash !== undefined) labels[LABELS.specHash] = input.specHash;
  return labels;
}

/** Whose an object is, read from its labels; undefined when it is not Holdfast's. */
export function ownerOf(labels: Record<string, string> | undefined | null):
  | { project: string; environment: string; service: string; component?: string; replicaIndex?: number }
  | undefined {
  if (!labels || labels[LABELS.managedBy] !== MANAGED_BY) return undefined;
  const project = labels[LABELS.project];
  const environment = labels[LABELS.environment];
  const service = labels[LABELS.service];
  if (!project || !environment || !service) return undefined;
  const replica = labels[LABELS.replica];
  const replicaIndex = replica !== undefined && /^[1-9][0-9]*$/.test(replica) ? Number(replica) : undefined;
  return { project, environment, service, component: labels[LABELS.component], replicaIndex };
}

/** An absolute path without `.`, `..`, doubled or trailing slashes, as Docker cleans mount paths. */
export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return path.startsWith('/') ? `/${parts.join('/')}` : parts.join('/') || '.';
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sorted copy, by a string key */
function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const sortedStrings = (items: readonly string[]) => [...items].sort();

/**
 * The canonical form of a container spec: set-like lists sorted, so that two specs that mean the
 * same compare and hash equal whatever order their sources listed things in.
 */
export function canonicaliseContainerSpec(spec: ContainerSpec): ContainerSpec {
  return {
    ...spec,
    ports: sortedBy(spec.ports, (p) => `${String(p.containerPort).padStart(5, '0')}/${p.protocol}/${p.hostIP ?? ''}/${String(p.hostPort ?? 0).padStart(5, '0')}`),
    exposedPorts: sortedBy(spec.exposedPorts, (p) => `${String(p.port).padStart(5, '0')}/${p.protocol}`),
    mounts: sortedBy(spec.mounts, (m) => m.target),
    files: sortedBy(spec.files, (f) => f.target),
    networks: sortedBy(spec.networks, (n) => n.name).map((n) => ({ ...n, aliases: sortedStrings(n.aliases) })),
    capAdd: sortedStrings(spec.capAdd),
    capDrop: sortedStrings(spec.capDrop),
    securityOpt: sortedStrings(spec.securityOpt),
    ulimits: sortedBy(spec.ulimits, (u) => u.name),
    devices: sortedBy(spec.devices, (d) => d.target),
    dnsSearch: [...spec.dnsSearch],
    dnsOptions: sortedStrings(spec.dnsOptions),
    extraHosts: sortedStrings(spec.extraHosts),
    groupAdd: sortedStrings(spec.groupAdd),
  };
}

/**
 * Stable hash of what a container is: canonical JSON, sha256, hex. The name is left out (the
 * start-first replacement runs under a temporary name with the same hash), and so are the
 * bookkeeping labels (the hash itself and the deployment that made it).
 */
export function specHash(spec: ContainerSpec): string {
  const { name: _name, ...rest } = canonicaliseContainerSpec(spec);
  const labels = { ...rest.labels };
  for (const key of BOOKKEEPING_LABELS) delete labels[key];
  return sha256Hex(canonicalJson({ ...rest, labels }));
}

/** Hash of a frozen input's content (what would be deployed), independent of when and why. */
export function frozenInputHash(frozen: Omit<FrozenInput, 'specHash'> & { specHash?: string }): string {
  const { specHash: _h, generation: _g, deployment: _d, warnings: _w, ...content } = frozen;
  const containers = content.containers.map((c) => {
    const labels = { ...c.labels };
    for (const key of BOOKKEEPING_LABELS) delete labels[key];
    return canonicaliseContainerSpec({ ...c, labels });
  });
  return sha256Hex(canonicalJson({ ...content, containers }));
}

/** A container spec without its identity (name, owner, replica): what a source declares. */
export type ContainerTemplate = Omit<ContainerSpec, 'name' | 'project' | 'environment' | 'service' | 'component' | 'replicaIndex'>;

/** A container template with every list and map empty: the base that sources fill in. */
export function emptyContainerTemplate(image: string): ContainerTemplate {
  return {
    image,
    env: {},
    ports: [],
    exposedPorts: [],
    mounts: [],
    files: [],
    labels: {},
    networks: [],
    restartPolicy: { name: 'no' },
    resources: {},
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    sysctls: {},
    ulimits: [],
    devices: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    extraHosts: [],
    groupAdd: [],
  };
}

/** A container spec with every list and map empty. */
export function emptyContainerSpec(
  identity: Pick<ContainerSpec, 'name' | 'project' | 'environment' | 'service' | 'component' | 'replicaIndex' | 'image'>,
): ContainerSpec {
  return { ...emptyContainerTemplate(identity.image), ...identity };
}
