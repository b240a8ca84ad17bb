// Builds the Docker Engine API request that creates a container from a frozen container spec
// (POST /containers/create), as data: the executor sends it; tests assert on it. Its encodings are
// the ones normaliseInspect reads back (binds that create their host path go in Binds, other
// mounts in Mounts, tmpfs in Tmpfs, anonymous volumes in Volumes, files as read-only binds), so a
// container made from it shows no drift.
//
// The body holds real secret values (env resolved for the host): send it, never log it.

import type { ContainerSpec, FileSpec, MountSpec, SecretKeyRef } from './container-spec.js';
import type { DockerMountRequest, DockerPortBinding } from './docker-types.js';
import { resolveEnvValue } from './env-secrets.js';
import { parseImageRef } from './image-ref.js';
import { NANO_CPUS } from './units.js';

export interface ContainerCreateBody {
  Image: string;
  Hostname?: string;
  Domainname?: string;
  User?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  Env: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  Labels: Record<string, string>;
  WorkingDir?: string;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  ExposedPorts: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
  HostConfig: {
    Binds: string[];
    Mounts: DockerMountRequest[];
    Tmpfs: Record<string, string>;
    PortBindings: Record<string, DockerPortBinding[]>;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    NetworkMode: string;
    CapAdd: string[];
    CapDrop: string[];
    SecurityOpt: string[];
    Sysctls: Record<string, string>;
    Ulimits: Array<{ Name: string; Soft: number; Hard: number }>;
    ShmSize?: number;
    Devices: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }>;
    Dns: string[];
    DnsSearch: string[];
    DnsOptions: string[];
    ExtraHosts: string[];
    GroupAdd: string[];
    LogConfig?: { Type: string; Config: Record<string, string> };
    Runtime?: string;
    Memory?: number;
    MemoryReservation?: number;
    NanoCpus?: number;
    PidsLimit?: number;
    Init?: boolean;
    Privileged?: boolean;
    ReadonlyRootfs?: boolean;
  };
  NetworkingConfig?: { EndpointsConfig: Record<string, EndpointRequest> };
}

export interface EndpointRequest {
  Aliases: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string };
}

export interface ContainerCreateRequest {
  /** `?name=` */
  name: string;
  /** `?platform=`, when declared. */
  platform?: string;
  body: ContainerCreateBody;
  /** Networks beyond the first: POST /networks/{name}/connect after create, before start. */
  connect: Array<{ network: string; endpoint: EndpointRequest }>;
}

export interface CreateRequestContext {
  /** The value of a Secret key; called only for the keys the spec refers to. */
  secretValue(ref: SecretKeyRef): string;
  /** Where on the host the executor put a file's content (a file per content hash, say). */
  fileHostPath(file: FileSpec): string;
}

function bindOptions(mount: MountSpec): string {
  const options: string[] = [];
  if (mount.readOnly) options.push('ro');
  if (mount.selinux) options.push(mount.selinux);
  if (mount.propagation) options.push(mount.propagation);
  if (mount.noCopy) options.push('nocopy');
  return options.length > 0 ? `:${options.join(',')}` : '';
}

function tmpfsOptions(mount: MountSpec): string {
  const options: string[] = [];
  if (mount.readOnly) options.push('ro');
  if (mount.sizeBytes !== undefined) options.push(`size=${mount.sizeBytes}`);
  if (mount.mode !== undefined) options.push(`mode=${mount.mode.toString(8)}`);
  options.push(...(mount.tmpfsOptions ?? []));
  return options.join(',');
}

function endpoint(network: ContainerSpec['networks'][number]): EndpointRequest {
  const out: EndpointRequest = { Aliases: [...network.aliases] };
  if (network.ipv4Address || network.ipv6Address) {
    out.IPAMConfig = {};
    if (network.ipv4Address) out.IPAMConfig.IPv4Address = network.ipv4Address;
    if (network.ipv6Address) out.IPAMConfig.IPv6Address = network.ipv6Address;
  }
  return out;
}

/** The image reference to create from: pinned to the frozen digest when there is one. */
export function imageReference(spec: Pick<ContainerSpec, 'image' | 'imageDigest'>): string {
  if (!spec.imageDigest || parseImageRef(spec.image).digest) return spec.image;
  const at = spec.image.indexOf('@');
  const withoutDigest = at >= 0 ? spec.image.slice(0, at) : spec.image;
  const colon = withoutDigest.lastIndexOf(':');
  const repository = colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}@${spec.imageDigest}`;
}

export function containerCreateRequest(spec: ContainerSpec, ctx: CreateRequestContext): ContainerCreateRequest {
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, DockerPortBinding[]> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: port.hostIP ?? '', HostPort: port.hostPort === undefined ? '' : String(port.hostPort) });
  }
  for (const port of spec.exposedPorts) exposed[`${port.port}/${port.protocol}`] = {};

  const binds: string[] = [];
  const mounts: DockerMountRequest[] = [];
  const tmpfs: Record<string, string> = {};
  const volumes: Record<string, Record<string, never>> = {};
  for (const mount of spec.mounts) {
    if (mount.type === 'tmpfs') tmpfs[mount.target] = tmpfsOptions(mount);
    else if (mount.type === 'volume' && mount.source === '') volumes[mount.target] = {};
    else if ((mount.type === 'bind' && mount.createHostPath) || (mount.type === 'volume' && !mount.subpath)) {
      binds.push(`${mount.source}:${mount.target}${bindOptions(mount)}`);
    } else if (mount.type === 'volume') {
      const request: DockerMountRequest = { Type: 'volume', Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly, VolumeOptions: { Subpath: mount.subpath } };
      if (mount.noCopy) request.VolumeOptions!.NoCopy = true;
      mounts.push(request);
    } else {
      const request: DockerMountRequest = { Type: 'bind', Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly };
      if (mount.propagation) request.BindOptions = { Propagation: mount.propagation };
      mounts.push(request);
    }
  }
  for (const file of spec.files) binds.push(`${ctx.fileHostPath(file)}:${file.target}:ro`);

  const body: ContainerCreateBody = {
    Image: imageReference(spec),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${resolveEnvValue(value, ctx.secretValue)}`),
    Labels: { ...spec.labels },
    ExposedPorts: exposed,
    HostConfig: {
      Binds: binds,
      Mounts: mounts,
      Tmpfs: tmpfs,
      PortBindings: bindings,
      RestartPolicy: { Name: spec.restartPolicy.name, MaximumRetryCount: spec.restartPolicy.maximumRetryCount ?? 0 },
      NetworkMode: spec.networkMode ?? spec.networks[0]?.name ?? 'default',
      CapAdd: [...spec.capAdd],
      CapDrop: [...spec.capDrop],
      SecurityOpt: [...spec.securityOpt],
      Sysctls: { ...spec.sysctls },
      Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      Devices: spec.devices.map((d) => ({ PathOnHost: d.source, PathInContainer: d.target, CgroupPermissions: d.permissions })),
      Dns: [...spec.dns],
      DnsSearch: [...spec.dnsSearch],
      DnsOptions: [...spec.dnsOptions],
      ExtraHosts: [...spec.extraHosts],
      GroupAdd: [...spec.groupAdd],
    },
  };
  if (Object.keys(volumes).length > 0) body.Volumes = volumes;
  if (spec.command !== undefined) body.Cmd = [...spec.command];
  if (spec.entrypoint !== undefined) body.Entrypoint = [...spec.entrypoint];
  if (spec.hostname !== undefined) body.Hostname = spec.hostname;
  if (spec.domainname !== undefined) body.Domainname = spec.domainname;
  if (spec.user !== undefined) body.User = spec.user;
  if (spec.workingDir !== undefined) body.WorkingDir = spec.workingDir;
  if (spec.stopSignal !== undefined) body.StopSignal = spec.stopSignal;
  if (spec.stopGraceSeconds !== undefined) body.StopTimeout = spec.stopGraceSeconds;
  if (spec.tty) body.Tty = true;
  if (spec.stdinOpen) body.OpenStdin = true;
  if (spec.healthcheck) {
    const ns = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1e6));
    const hc = spec.healthcheck;
    body.Healthcheck = { Test: [...hc.test] };
    if (hc.intervalMs !== undefined) body.Healthcheck.Interval = ns(hc.intervalMs);
    if (hc.timeoutMs !== undefined) body.Healthcheck.Timeout = ns(hc.timeoutMs);
    if (hc.startPeriodMs !== undefined) body.Healthcheck.StartPeriod = ns(hc.startPeriodMs);
    if (hc.startIntervalMs !== undefined) body.Healthcheck.StartInterval = ns(hc.startIntervalMs);
    if (hc.retries !== undefined) body.Healthcheck.Retries = hc.retries;
  }
  const host = body.HostConfig;
  if (spec.shmSizeBytes !== undefined) host.ShmSize = spec.shmSizeBytes;
  if (spec.logging) host.LogConfig = { Type: spec.logging.driver, Config: { ...spec.logging.options } };
  if (spec.runtime !== undefined) host.Runtime = spec.runtime;
  if (spec.resources.memoryBytes !== undefined) host.Memory = spec.resources.memoryBytes;
  if (spec.resources.memoryReservationBytes !== undefined) host.MemoryReservation = spec.resources.memoryReservationBytes;
  if (spec.resources.cpus !== undefined) host.NanoCpus = Math.round(spec.resources.cpus * NANO_CPUS);
  if (spec.resources.pidsLimit !== undefined) host.PidsLimit = spec.resources.pidsLimit;
  if (spec.init) host.Init = true;
  if (spec.privileged) host.Privileged = true;
  if (spec.readOnly) host.ReadonlyRootfs = true;

  const [first, ...rest] = spec.networkMode ? [] : spec.networks;
  if (first) body.NetworkingConfig = { EndpointsConfig: { [first.name]: endpoint(first) } };
  const request: ContainerCreateRequest = { name: spec.name, body, connect: rest.map((n) => ({ network: n.name, endpoint: endpoint(n) })) };
  if (spec.platform) request.platform = spec.platform;
  return request;
}
