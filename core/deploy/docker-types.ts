// The parts of Docker Engine API responses (API 1.41 and later) that normalisation reads. Field
// names are Docker's; every field is optional or nullable because Docker omits or nulls them
// depending on version and on how the object was made.

export interface DockerPortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface DockerMountRequest {
  Type?: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; Subpath?: string; DriverConfig?: unknown } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null } | null;
}

export interface DockerHealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface DockerContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: DockerHealthConfig | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
}

export interface DockerHostConfig {
  Binds?: string[] | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  NetworkMode?: string;
  PortBindings?: Record<string, DockerPortBinding[] | null> | null;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Runtime?: string;
  Memory?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  PidsLimit?: number | null;
  Devices?: Array<{ PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  Ulimits?: Array<{ Name?: string; Soft?: number; Hard?: number }> | null;
  Mounts?: DockerMountRequest[] | null;
  Init?: boolean | null;
}

export interface DockerMountPoint {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Driver?: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

export interface DockerEndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  DNSNames?: string[] | null;
  NetworkID?: string;
  IPAddress?: string;
  GlobalIPv6Address?: string;
}

export interface DockerContainerState {
  Status?: string;
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  OOMKilled?: boolean;
  Dead?: boolean;
  ExitCode?: number;
  Error?: string;
  StartedAt?: string;
  FinishedAt?: string;
  Health?: { Status?: string; FailingStreak?: number } | null;
}

/** GET /containers/{id}/json */
export interface DockerContainerInspect {
  Id: string;
  Created?: string;
  Name?: string;
  Image?: string;
  RestartCount?: number;
  State?: DockerContainerState;
  Config?: DockerContainerConfig;
  HostConfig?: DockerHostConfig;
  Mounts?: DockerMountPoint[] | null;
  NetworkSettings?: { Networks?: Record<string, DockerEndpointSettings | null> | null; Ports?: Record<string, DockerPortBinding[] | null> | null } | null;
}

/** GET /images/{name}/json */
export interface DockerImageInspect {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Config?: DockerContainerConfig | null;
  Os?: string;
  Architecture?: string;
  Variant?: string;
}

/** GET /networks/{id} */
export interface DockerNetworkInspect {
  Name: string;
  Id: string;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** GET /volumes/{name} */
export interface DockerVolumeInspect {
  Name: string;
  Driver?: string;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}
