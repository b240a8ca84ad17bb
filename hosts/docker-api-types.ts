// Engine API response shapes the execution plane reads, beyond the inspect shapes that normalisation
// defines in core/deploy/docker-types.ts. Field names are Docker's; only fields read somewhere are
// typed, and every object keeps the rest of Docker's fields.
export type {
  DockerContainerInspect,
  DockerImageInspect,
  DockerNetworkInspect,
  DockerVolumeInspect,
} from '../core/deploy/docker-types.js';

export interface DockerPing {
  /** `Api-Version` header: the newest API version the daemon speaks. */
  apiVersion: string;
  osType?: string;
  swarm?: string;
}

/** GET /version */
export interface DockerVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  [field: string]: unknown;
}

/** GET /info */
export interface DockerInfo {
  ID?: string;
  Name?: string;
  ServerVersion?: string;
  Containers?: number;
  ContainersRunning?: number;
  Images?: number;
  NCPU?: number;
  /** Where the engine keeps images, containers and volumes, e.g. /var/lib/docker. */
  DockerRootDir?: string;
  MemTotal?: number;
  OperatingSystem?: string;
  KernelVersion?: string;
  /** Daemon clock (RFC 3339 with nanoseconds). */
  SystemTime?: string;
  Swarm?: {
    NodeID?: string;
    NodeAddr?: string;
    LocalNodeState?: 'inactive' | 'pending' | 'active' | 'error' | 'locked' | '';
    ControlAvailable?: boolean;
    Nodes?: number;
    Managers?: number;
    Cluster?: { ID?: string } | null;
  };
  [field: string]: unknown;
}

/** GET /containers/json item */
export interface DockerContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  State?: string;
  Status?: string;
  Labels?: Record<string, string> | null;
  Ports?: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
  [field: string]: unknown;
}

/** GET /images/json item */
export interface DockerImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
  Labels?: Record<string, string> | null;
  [field: string]: unknown;
}

/** GET /networks and GET /volumes return these. */
export interface DockerVolumeList {
  Volumes: Array<{ Name: string; Driver?: string; Labels?: Record<string, string> | null; Mountpoint?: string; [field: string]: unknown }> | null;
  Warnings?: string[] | null;
}

export interface DockerObjectVersion {
  Index: number;
}

/** GET /services item and GET /services/{id} */
export interface SwarmService {
  ID: string;
  Version?: DockerObjectVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec?: {
    Name?: string;
    Labels?: Record<string, string> | null;
    TaskTemplate?: Record<string, unknown>;
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    EndpointSpec?: Record<string, unknown>;
    [field: string]: unknown;
  };
  UpdateStatus?: { State?: string; Message?: string } | null;
  [field: string]: unknown;
}

/** GET /tasks item and GET /tasks/{id} */
export interface SwarmTask {
  ID: string;
  Version?: DockerObjectVersion;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Status?: {
    Timestamp?: string;
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number };
  };
  [field: string]: unknown;
}

/** GET /nodes item and GET /nodes/{id} */
export interface SwarmNode {
  ID: string;
  Version?: DockerObjectVersion;
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string; [field: string]: unknown }; [field: string]: unknown };
  Spec?: { Role?: 'worker' | 'manager'; Availability?: string; Labels?: Record<string, string> | null };
  Status?: { State?: string; Addr?: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string } | null;
  [field: string]: unknown;
}

/** GET /configs and GET /secrets item: a Swarm config or secret (a secret's data is never returned). */
export interface SwarmFileObject {
  ID: string;
  Version?: DockerObjectVersion;
  Spec?: { Name?: string; Labels?: Record<string, string> | null };
  [field: string]: unknown;
}

/** One item of GET /events */
export interface DockerEvent {
  /** container, image, volume, network, daemon, plugin, service, node, secret, config */
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  scope?: 'local' | 'swarm';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds. */
  timeNano: number;
}

/** A line of pull or build progress. */
export interface DockerProgress {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  /** Build output. */
  stream?: string;
  aux?: { ID?: string; [field: string]: unknown };
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

/** GET /exec/{id}/json */
export interface DockerExecInspect {
  ID: string;
  Running: boolean;
  /** Null while the process runs. */
  ExitCode: number | null;
  Pid?: number;
  ContainerID?: string;
}

/** GET /system/df: what the daemon's objects take on disk. */
export interface DockerSystemDf {
  LayersSize?: number;
  Images?: Array<{ Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Size: number; SharedSize: number; Containers: number; Labels?: Record<string, string> | null; Created?: number }> | null;
  Containers?: Array<{ Id: string; Names?: string[]; Image?: string; ImageID?: string; State?: string; SizeRw?: number; SizeRootFs?: number; Labels?: Record<string, string> | null; Created?: number; NetworkSettings?: { Networks?: Record<string, unknown> | null } | null }> | null;
  Volumes?: Array<{ Name: string; Labels?: Record<string, string> | null; UsageData?: { Size: number; RefCount: number } | null }> | null;
  BuildCache?: Array<{ ID: string; Type?: string; Size: number; InUse: boolean; Shared: boolean; LastUsedAt?: string | null }> | null;
}
