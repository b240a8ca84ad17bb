// Normalises `docker inspect` output into the container model, so live and frozen compare field by
// field and only real differences show. The rules come from inspect output of real hosts:
// - what the image supplies (env, labels, command, entrypoint, working dir, user, stop signal,
//   healthcheck, exposed ports, VOLUMEs) is dropped unless the frozen spec declares it too;
// - defaults Docker fills in (64 MiB /dev/shm, runc, json-file logging with the daemon's
//   log-opts, rprivate propagation, hostname = short id, aliases = short id and hostname, empty
//   lists versus null, restart policy "" versus "no") are dropped;
// - port bindings: `0.0.0.0`, `::` and `` are all "every address"; `HostPort: ""` is a random port;
// - capabilities lose Docker's CAP_ prefix; image references compare as tag or digest.

import { canonicalJson } from '../canonical-json.js';
import {
  canonicaliseContainerSpec,
  cleanPath,
  emptyContainerTemplate,
  ownerOf,
  type ContainerSpec,
  type EnvValue,
  type ExposedPortSpec,
  type FileSpec,
  type HealthcheckSpec,
  type MountSpec,
  type NetworkAttachment,
  type PortProtocol,
  type PortSpec,
  type RestartPolicy,
} from './container-spec.js';
import type { DockerContainerConfig, DockerContainerInspect, DockerImageInspect, DockerMountRequest } from './docker-types.js';
import { liveEnvValueLike } from './env-secrets.js';
import { isDigest, parseImageRef, repositoryOf, sameImage } from './image-ref.js';
import { parseBind, parseTmpfsOptions } from './mounts.js';
import { NANO_CPUS } from './units.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy' | 'none';

export interface ContainerState {
  /** Docker's status: created, running, paused, restarting, removing, exited or dead. */
  status: string;
  running: boolean;
  paused: boolean;
  restarting: boolean;
  dead: boolean;
  oomKilled: boolean;
  exitCode: number;
  error?: string;
  health: HealthStatus;
  failingStreak?: number;
  startedAt?: string;
  finishedAt?: string;
  restartCount: number;
}

/** A container as it runs: the container model plus Docker's id, image id and state. */
export interface LiveContainer extends ContainerSpec {
  id: string;
  imageId: string;
  createdAt: string;
  state: ContainerState;
  /**
   * Set when the container should be on Docker's default network (no network declared, network mode
   * default) but was disconnected from it: nothing in the container model says so otherwise.
   */
  disconnectedFromDefault?: true;
}

export interface NormaliseOptions {
  /**
   * The frozen spec the container should match. With it, a value that equals an image or Docker
   * default is kept when the frozen spec declares it; secret env values are compared as hashes.
   */
  expected?: ContainerSpec;
  /** The hash resolveSecret gives for a value; needed to compare secret env values. */
  hashSecret?: (value: string) => string;
  /** Daemon-wide defaults (`docker info`): logging driver and log-opts, default runtime. */
  daemon?: { logDriver?: string; logOptions?: Record<string, string>; runtime?: string };
  /** Name of a container by id, to read `container:<id>` network modes back as names. */
  containerNameById?: (id: string) => string | undefined;
}

/** Docker's PATH for containers whose image sets none. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Marks a secret env value that could not be hashed (no hashSecret given): never equal to a hash. */
export const UNHASHED = '(not hashed)';

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
const nonEmpty = <T>(list: T[] | null | undefined): T[] => (list ? [...list] : []);

/**
 * A value the image may have supplied: undefined when it is the image's (or empty) and the
 * frozen spec does not declare it; the frozen value when they are the same.
 */
function unlessFromImage<T>(live: T | undefined, image: T | undefined, expected: T | undefined, isEmpty: (v: T | undefined) => boolean): T | undefined {
  if (expected !== undefined && same(live ?? null, expected) ) return expected;
  if (expected !== undefined && isEmpty(live) && isEmpty(expected)) return expected;
  if (isEmpty(live)) return undefined;
  if (image !== undefined && !isEmpty(image) && same(live, image) && expected === undefined) return undefined;
  return live;
}

const emptyList = (v: string[] | null | undefined) => !v || v.length === 0;
const emptyText = (v: string | undefined) => !v;

function splitEnv(list: string[] | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq < 0) out.set(item, '');
    else out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

function portKey(key: string): { port: number; protocol: PortProtocol } {
  const [port, protocol = 'tcp'] = key.split('/');
  return { port: Number(port), protocol: protocol as PortProtocol };
}

function anyAddress(ip: string | undefined): string | undefined {
  const bare = (ip ?? '').replace(/^\[(.*)\]$/, '$1');
  return bare === '' || bare === '0.0.0.0' || bare === '::' ? undefined : bare;
}

function normaliseCapability(cap: string): string {
  const upper = cap.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

function healthcheckFrom(config: DockerContainerConfig['Healthcheck']): HealthcheckSpec | undefined {
  if (!config) return undefined;
  const ms = (ns: number | undefined) => (ns ? ns / 1e6 : undefined);
  const spec: HealthcheckSpec = { test: nonEmpty(config.Test) };
  const interval = ms(config.Interval);
  const timeout = ms(config.Timeout);
  const startPeriod = ms(config.StartPeriod);
  const startInterval = ms(config.StartInterval);
  if (interval !== undefined) spec.intervalMs = interval;
  if (timeout !== undefined) spec.timeoutMs = timeout;
  if (startPeriod !== undefined) spec.startPeriodMs = startPeriod;
  if (startInterval !== undefined) spec.startIntervalMs = startInterval;
  if (config.Retries) spec.retries = config.Retries;
  return spec;
}

function mountFromRequest(request: DockerMountRequest): MountSpec | undefined {
  const target = request.Target ? cleanPath(request.Target) : undefined;
  if (!target) return undefined;
  const readOnly = request.ReadOnly === true;
  switch (request.Type) {
    case 'volume': {
      const mount: MountSpec = { type: 'volume', source: request.Source ?? '', target, readOnly };
      if (request.VolumeOptions?.NoCopy) mount.noCopy = true;
      if (request.VolumeOptions?.Subpath) mount.subpath = request.VolumeOptions.Subpath;
      return mount;
    }
    case 'bind': {
      const mount: MountSpec = { type: 'bind', source: cleanPath(request.Source ?? ''), target, readOnly };
      const propagation = request.BindOptions?.Propagation;
      if (propagation && propagation !== 'rprivate') mount.propagation = propagation;
      if (request.BindOptions?.CreateMountpoint) mount.createHostPath = true;
      return mount;
    }
    case 'tmpfs': {
      const mount: MountSpec = { type: 'tmpfs', source: '', target, readOnly };
      if (request.TmpfsOptions?.SizeBytes) mount.sizeBytes = request.TmpfsOptions.SizeBytes;
      if (request.TmpfsOptions?.Mode) mount.mode = request.TmpfsOptions.Mode;
      const others = (request.TmpfsOptions?.Options ?? []).map((o) => o.join('=')).filter((o) => o !== 'rw');
      if (others.length > 0) mount.tmpfsOptions = others.sort();
      return mount;
    }
    default:
      return { type: 'bind', source: request.Source ?? '', target, readOnly };
  }
}

/** Reads a container's state as Docker reports it. */
export function containerState(inspect: DockerContainerInspect): ContainerState {
  const s = inspect.State ?? {};
  const health = s.Health?.Status;
  const state: ContainerState = {
    status: s.Status ?? 'unknown',
    running: s.Running === true,
    paused: s.Paused === true,
    restarting: s.Restarting === true,
    dead: s.Dead === true,
    oomKilled: s.OOMKilled === true,
    exitCode: s.ExitCode ?? 0,
    health: health === 'starting' || health === 'healthy' || health === 'unhealthy' ? health : 'none',
    restartCount: inspect.RestartCount ?? 0,
  };
  if (s.Error) state.error = s.Error;
  if (s.Health?.FailingStreak) state.failingStreak = s.Health.FailingStreak;
  if (s.StartedAt && s.StartedAt !== ZERO_TIME) state.startedAt = s.StartedAt;
  if (s.FinishedAt && s.FinishedAt !== ZERO_TIME) state.finishedAt = s.FinishedAt;
  return state;
}

/** The repository digest of an image for a reference, from the image's RepoDigests. */
export function digestFor(reference: string, image: DockerImageInspect | undefined): string | undefined {
  const own = parseImageRef(reference).digest;
  if (own) return own;
  const repository = repositoryOf(reference);
  for (const repoDigest of image?.RepoDigests ?? []) {
    const at = repoDigest.indexOf('@');
    if (at < 0) continue;
    if (repositoryOf(repoDigest.slice(0, at)) === repository && isDigest(repoDigest.slice(at + 1))) return repoDigest.slice(at + 1);
  }
  return undefined;
}

/**
 * `docker inspect` of a container (and of its image) in the shape of the frozen container spec,
 * plus its state.
 */
export function normaliseInspect(inspect: DockerContainerInspect, image?: DockerImageInspect, options: NormaliseOptions = {}): LiveContainer {
  const config = inspect.Config ?? {};
  const host = inspect.HostConfig ?? {};
  const imageConfig = image?.Config ?? undefined;
  const e = options.expected;
  const name = (inspect.Name ?? '').replace(/^\//, '');
  const shortId = inspect.Id.slice(0, 12);

  const labels = { ...(config.Labels ?? {}) };
  for (const [key, value] of Object.entries(imageConfig?.Labels ?? {})) {
    if (labels[key] === value && e?.labels[key] !== value) delete labels[key];
  }
  const owner = ownerOf(labels);

  const reference = config.Image ?? '';
  const spec = emptyContainerTemplate(reference);
  const digest = digestFor(reference, image);
  if (digest) spec.imageDigest = digest;
  if (e && sameImage({ image: reference, imageDigest: digest }, e)) {
    // The same image written another way (tag pinned by digest, Hub short name): show it as declared.
    spec.image = e.image;
    if (e.imageDigest && !digest) spec.imageDigest = e.imageDigest;
  }

  const command = unlessFromImage(config.Cmd ?? undefined, imageConfig?.Cmd ?? undefined, e?.command, emptyList);
  if (command !== undefined) spec.command = command;
  const entrypoint = unlessFromImage(config.Entrypoint ?? undefined, imageConfig?.Entrypoint ?? undefined, e?.entrypoint, (v) => v === undefined);
  if (entrypoint !== undefined && !(entrypoint.length === 0 && e?.entrypoint === undefined)) spec.entrypoint = entrypoint;

  spec.env = liveEnv(config.Env, imageConfig?.Env, e, options.hashSecret);
  spec.labels = labels;

  const published = new Set<string>();
  for (const [key, bindings] of Object.entries(host.PortBindings ?? {})) {
    const { port, protocol } = portKey(key);
    for (const binding of bindings ?? []) {
      const p: PortSpec = { containerPort: port, protocol };
      if (binding.HostPort) p.hostPort = Number(binding.HostPort);
      const ip = anyAddress(binding.HostIp);
      if (ip) p.hostIP = ip;
      spec.ports.push(p);
      published.add(`${port}/${protocol}`);
    }
  }
  const imageExposed = new Set(Object.keys(imageConfig?.ExposedPorts ?? {}).map((k) => `${portKey(k).port}/${portKey(k).protocol}`));
  const expectedExposed = new Set((e?.exposedPorts ?? []).map((p) => `${p.port}/${p.protocol}`));
  for (const key of Object.keys(config.ExposedPorts ?? {})) {
    const { port, protocol } = portKey(key);
    const id = `${port}/${protocol}`;
    if (published.has(id)) continue;
    if (imageExposed.has(id) && !expectedExposed.has(id)) continue;
    spec.exposedPorts.push({ port, protocol } satisfies ExposedPortSpec);
  }

  const mounts = liveMounts(inspect, imageConfig, e);
  const fileTargets = new Map((e?.files ?? []).map((f) => [f.target, f]));
  const files: FileSpec[] = [];
  for (const mount of mounts) {
    const file = fileTargets.get(mount.target);
    // Files are delivered as read-only mounts; their content is not visible through inspect.
    if (file && mount.type === 'bind') files.push(file);
    else spec.mounts.push(mount);
  }
  spec.files = files;

  const { networks, networkMode } = liveNetworks(inspect, name, shortId, e, options.containerNameById);
  spec.networks = networks;
  if (networkMode) spec.networkMode = networkMode;

  const restartName = host.RestartPolicy?.Name || 'no';
  const restart: RestartPolicy = { name: restartName as RestartPolicy['name'] };
  if (restartName === 'on-failure' && host.RestartPolicy?.MaximumRetryCount) restart.maximumRetryCount = host.RestartPolicy.MaximumRetryCount;
  spec.restartPolicy = restart;

  let healthcheck = healthcheckFrom(config.Healthcheck);
  const imageHealthcheck = healthcheckFrom(imageConfig?.Healthcheck);
  if (healthcheck && e?.healthcheck?.test.length === 0 && imageHealthcheck && same(healthcheck.test, imageHealthcheck.test)) {
    // A healthcheck that only tunes timings keeps the image's test.
    healthcheck = { ...healthcheck, test: [] };
  }
  if (healthcheck && !e?.healthcheck && imageHealthcheck && same(healthcheck, imageHealthcheck)) healthcheck = undefined;
  if (healthcheck && healthcheck.test.length === 0 && !e?.healthcheck && Object.keys(healthcheck).length === 1) healthcheck = undefined;
  if (healthcheck) spec.healthcheck = healthcheck;

  if (host.NanoCpus) spec.resources.cpus = host.NanoCpus / NANO_CPUS;
  else if (host.CpuQuota && host.CpuPeriod) spec.resources.cpus = host.CpuQuota / host.CpuPeriod;
  if (host.Memory) spec.resources.memoryBytes = host.Memory;
  if (host.MemoryReservation) spec.resources.memoryReservationBytes = host.MemoryReservation;
  if (host.PidsLimit && host.PidsLimit > 0) spec.resources.pidsLimit = host.PidsLimit;

  const user = unlessFromImage(config.User || undefined, imageConfig?.User || undefined, e?.user, emptyText);
  if (user !== undefined) spec.user = user;
  const workingDir = unlessFromImage(config.WorkingDir || undefined, imageConfig?.WorkingDir || undefined, e?.workingDir, emptyText);
  if (workingDir !== undefined) spec.workingDir = workingDir;
  const hostname = config.Hostname || undefined;
  // Docker names a container's host after its short id, or after the host's own with host networking.
  const sharedUts = host.NetworkMode === 'host' || (host.NetworkMode ?? '').startsWith('container:');
  if (hostname && (e?.hostname === hostname || (hostname !== shortId && !sharedUts))) spec.hostname = hostname;
  if (config.Domainname) spec.domainname = config.Domainname;
  const stopSignal = unlessFromImage(config.StopSignal || undefined, imageConfig?.StopSignal || undefined, e?.stopSignal, emptyText);
  if (stopSignal !== undefined) spec.stopSignal = stopSignal;
  if (config.StopTimeout !== undefined && config.StopTimeout !== null) spec.stopGraceSeconds = config.StopTimeout;
  if (host.Init) spec.init = true;
  if (config.Tty) spec.tty = true;
  if (config.OpenStdin) spec.stdinOpen = true;
  if (host.Privileged) spec.privileged = true;
  if (host.ReadonlyRootfs) spec.readOnly = true;
  spec.capAdd = nonEmpty(host.CapAdd).map(normaliseCapability);
  spec.capDrop = nonEmpty(host.CapDrop).map(normaliseCapability);
  spec.securityOpt = nonEmpty(host.SecurityOpt);
  spec.sysctls = { ...(host.Sysctls ?? {}) };
  spec.ulimits = nonEmpty(host.Ulimits).map((u) => ({ name: u.Name ?? '', soft: u.Soft ?? 0, hard: u.Hard ?? 0 }));
  if (host.ShmSize && (host.ShmSize !== DEFAULT_SHM_BYTES || e?.shmSizeBytes === DEFAULT_SHM_BYTES)) spec.shmSizeBytes = host.ShmSize;
  spec.devices = nonEmpty(host.Devices).map((d) => ({ source: d.PathOnHost ?? '', target: d.PathInContainer ?? d.PathOnHost ?? '', permissions: d.CgroupPermissions || 'rwm' }));
  spec.dns = nonEmpty(host.Dns);
  spec.dnsSearch = nonEmpty(host.DnsSearch);
  spec.dnsOptions = nonEmpty(host.DnsOptions);
  spec.extraHosts = nonEmpty(host.ExtraHosts);
  spec.groupAdd = nonEmpty(host.GroupAdd);

  const logging = liveLogging(host.LogConfig, e, options.daemon);
  if (logging) spec.logging = logging;
  if (e?.platform && image?.Os && image.Architecture) {
    spec.platform = [image.Os, image.Architecture, image.Variant].filter(Boolean).join('/');
  }
  const defaultRuntime = options.daemon?.runtime ?? 'runc';
  if (host.Runtime && (host.Runtime !== defaultRuntime || e?.runtime === host.Runtime)) spec.runtime = host.Runtime;

  const container: LiveContainer = {
    ...canonicaliseContainerSpec({
      ...spec,
      name,
      project: owner?.project ?? '',
      environment: owner?.environment ?? '',
      service: owner?.service ?? '',
      component: owner?.component ?? '',
      replicaIndex: owner?.replicaIndex ?? 0,
    }),
    id: inspect.Id,
    imageId: inspect.Image ?? '',
    createdAt: inspect.Created ?? '',
    state: containerState(inspect),
  };
  const mode = inspect.HostConfig?.NetworkMode ?? 'default';
  if ((mode === 'default' || mode === 'bridge') && !('bridge' in (inspect.NetworkSettings?.Networks ?? {}))) container.disconnectedFromDefault = true;
  return container;
}

function liveEnv(
  live: string[] | null | undefined,
  image: string[] | null | undefined,
  expected: ContainerSpec | undefined,
  hashSecret: ((value: string) => string) | undefined,
): Record<string, EnvValue> {
  const fromImage = splitEnv(image);
  const env: Record<string, EnvValue> = {};
  for (const [key, value] of splitEnv(live)) {
    const declared = expected?.env[key];
    if (!declared) {
      if (fromImage.get(key) === value) continue;
      if (`${key}=${value}` === DEFAULT_PATH && !fromImage.has(key)) continue;
      env[key] = { value };
      continue;
    }
    env[key] = hashSecret ? liveEnvValueLike(declared, value, hashSecret) : 'value' in declared ? { value } : unhashed(declared);
  }
  return env;
}

function unhashed(declared: EnvValue): EnvValue {
  if ('secretRef' in declared) return { secretRef: declared.secretRef, secretHash: UNHASHED };
  if ('template' in declared) return { template: declared.template, secrets: declared.secrets.map((s) => ({ name: s.name, key: s.key, secretHash: UNHASHED })) };
  return declared;
}

function liveMounts(inspect: DockerContainerInspect, imageConfig: DockerContainerConfig | undefined, e: ContainerSpec | undefined): MountSpec[] {
  const host = inspect.HostConfig ?? {};
  const mounts: MountSpec[] = [];
  const targets = new Set<string>();
  const add = (mount: MountSpec | undefined) => {
    if (!mount || targets.has(mount.target)) return;
    targets.add(mount.target);
    mounts.push(mount);
  };
  for (const bind of host.Binds ?? []) {
    const parsed = parseBind(bind);
    // An entry Docker accepted but we cannot read is kept whole, so it shows as a difference.
    add(parsed ?? { type: 'bind', source: bind, target: bind, readOnly: false });
  }
  for (const request of host.Mounts ?? []) add(mountFromRequest(request));
  for (const [target, options] of Object.entries(host.Tmpfs ?? {})) {
    const mount = parseTmpfsOptions(target, options);
    add(typeof mount === 'string' ? { type: 'tmpfs', source: '', target: cleanPath(target), readOnly: false, tmpfsOptions: [options] } : mount);
  }
  // Anonymous volumes: declared without a source (Config.Volumes), or made for the image's VOLUMEs.
  const imageVolumes = new Set(Object.keys(imageConfig?.Volumes ?? {}).map(cleanPath));
  const declaredTargets = new Set((e?.mounts ?? []).map((m) => m.target));
  const anonymousTargets = new Set([
    ...Object.keys(inspect.Config?.Volumes ?? {}).map(cleanPath),
    ...(inspect.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name && /^[0-9a-f]{64}$/.test(m.Name)).map((m) => cleanPath(m.Destination ?? '')),
  ]);
  for (const target of anonymousTargets) {
    if (!target || targets.has(target)) continue;
    if (imageVolumes.has(target) && !declaredTargets.has(target)) continue;
    add({ type: 'volume', source: '', target, readOnly: false });
  }
  // A named volume whose name is Docker's random one is anonymous too.
  return mounts.map((m) => (m.type === 'volume' && /^[0-9a-f]{64}$/.test(m.source) ? { ...m, source: '' } : m));
}

function liveNetworks(
  inspect: DockerContainerInspect,
  name: string,
  shortId: string,
  e: ContainerSpec | undefined,
  containerNameById: ((id: string) => string | undefined) | undefined,
): { networks: NetworkAttachment[]; networkMode?: string } {
  const mode = inspect.HostConfig?.NetworkMode ?? 'default';
  if (mode === 'host' || mode === 'none') return { networks: [], networkMode: mode };
  if (mode.startsWith('container:')) {
    const target = mode.slice('container:'.length);
    const byName = /^[0-9a-f]{12,64}$/.test(target) ? containerNameById?.(target) : undefined;
    return { networks: [], networkMode: `container:${byName ?? target}` };
  }
  const hostname = inspect.Config?.Hostname;
  const networks: NetworkAttachment[] = [];
  for (const [networkName, endpoint] of Object.entries(inspect.NetworkSettings?.Networks ?? {})) {
    if (networkName === 'bridge' && (mode === 'default' || mode === 'bridge')) continue;
    const declared = e?.networks.find((n) => n.name === networkName);
    const automatic = new Set([shortId, inspect.Id, name, hostname].filter(Boolean));
    const aliases = nonEmpty(endpoint?.Aliases).filter((a) => !automatic.has(a) || declared?.aliases.includes(a));
    const attachment: NetworkAttachment = { name: networkName, aliases: [...new Set(aliases)] };
    if (endpoint?.IPAMConfig?.IPv4Address) attachment.ipv4Address = endpoint.IPAMConfig.IPv4Address;
    if (endpoint?.IPAMConfig?.IPv6Address) attachment.ipv6Address = endpoint.IPAMConfig.IPv6Address;
    networks.push(attachment);
  }
  return { networks };
}

function liveLogging(
  config: { Type?: string; Config?: Record<string, string> | null } | null | undefined,
  e: ContainerSpec | undefined,
  daemon: NormaliseOptions['daemon'],
): ContainerSpec['logging'] {
  const driver = config?.Type || daemon?.logDriver || 'json-file';
  const defaultDriver = daemon?.logDriver ?? 'json-file';
  const options = { ...(config?.Config ?? {}) };
  const expected = e?.logging;
  if (!expected) {
    if (driver !== defaultDriver) return { driver, options };
    return undefined;
  }
  // The daemon merges its log-opts into every container's: keep those the spec declares, and
  // the others only where they differ from the daemon's (when known).
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    if (key in expected.options) kept[key] = value;
    else if (daemon?.logOptions && daemon.logOptions[key] !== value) kept[key] = value;
  }
  return { driver, options: kept };
}
