// The shape of a Compose document after validation against COMPOSE_SCHEMA (see schema.ts): the
// types the mapper may rely on. Strings may stand for booleans and numbers, as Compose allows.

export type BoolLike = boolean | string;
export type ListOrDict = string[] | Record<string, string | number | boolean | null>;
export type CommandLike = null | string | string[];

export interface ComposeBuild {
  context?: string;
  dockerfile?: string;
  args?: ListOrDict;
  target?: string;
}

export interface ComposePortLong {
  name?: string;
  mode?: 'host' | 'ingress';
  host_ip?: string;
  target?: number | string;
  published?: number | string;
  protocol?: 'tcp' | 'udp' | 'sctp';
  app_protocol?: string;
}

export interface ComposeVolumeLong {
  type?: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target?: string;
  read_only?: BoolLike;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: BoolLike; selinux?: 'z' | 'Z' };
  volume?: { nocopy?: BoolLike; subpath?: string };
  tmpfs?: { size?: number | string; mode?: number | string };
}

export interface ComposeDependency {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  required?: BoolLike;
  restart?: BoolLike;
}

export interface ComposeHealthcheck {
  disable?: BoolLike;
  interval?: string;
  retries?: number | string;
  test?: string | string[];
  timeout?: string;
  start_period?: string;
  start_interval?: string;
}

export interface ComposeFileRef {
  source?: string;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number | string;
}

export interface ComposeService {
  image?: string;
  build?: string | ComposeBuild;
  command?: CommandLike;
  entrypoint?: CommandLike;
  environment?: ListOrDict;
  env_file?: string | Array<string | { path?: string; required?: BoolLike }>;
  ports?: Array<number | string | ComposePortLong>;
  expose?: Array<number | string>;
  volumes?: Array<string | ComposeVolumeLong>;
  tmpfs?: string | string[];
  networks?: string[] | Record<string, { aliases?: string[]; ipv4_address?: string; ipv6_address?: string } | null>;
  network_mode?: string;
  depends_on?: string[] | Record<string, ComposeDependency>;
  healthcheck?: ComposeHealthcheck;
  restart?: string;
  labels?: ListOrDict;
  container_name?: string;
  hostname?: string;
  domainname?: string;
  user?: string;
  working_dir?: string;
  stop_signal?: string;
  stop_grace_period?: string;
  init?: BoolLike;
  tty?: BoolLike;
  stdin_open?: BoolLike;
  privileged?: BoolLike;
  read_only?: BoolLike;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  sysctls?: ListOrDict;
  ulimits?: Record<string, number | string | { soft?: number | string; hard?: number | string }>;
  shm_size?: number | string;
  devices?: Array<string | { source?: string; target?: string; permissions?: string }>;
  dns?: string | string[];
  dns_search?: string | string[];
  dns_opt?: string[];
  extra_hosts?: string[] | Record<string, string | string[]>;
  group_add?: Array<string | number>;
  logging?: { driver?: string; options?: Record<string, string | number | null> };
  platform?: string;
  runtime?: string;
  mem_limit?: number | string;
  mem_reservation?: number | string;
  cpus?: number | string;
  pids_limit?: number | string;
  scale?: number | string;
  deploy?: null | {
    replicas?: number | string;
    resources?: {
      limits?: { cpus?: number | string; memory?: number | string; pids?: number | string };
      reservations?: { cpus?: number | string; memory?: number | string };
    };
    restart_policy?: { condition?: string; delay?: string; max_attempts?: number | string; window?: string };
    mode?: 'replicated' | 'global';
    endpoint_mode?: 'vip' | 'dnsrr';
    labels?: ListOrDict;
    placement?: { constraints?: string[]; preferences?: Array<{ spread: string }>; max_replicas_per_node?: number | string };
    update_config?: {
      parallelism?: number | string;
      order?: 'start-first' | 'stop-first';
      delay?: string;
      failure_action?: 'pause' | 'continue' | 'rollback';
      monitor?: string;
      max_failure_ratio?: number | string;
    };
    rollback_config?: {
      parallelism?: number | string;
      order?: 'start-first' | 'stop-first';
      delay?: string;
      failure_action?: 'pause' | 'continue';
      monitor?: string;
      max_failure_ratio?: number | string;
    };
  };
  secrets?: Array<string | ComposeFileRef>;
  configs?: Array<string | ComposeFileRef>;
  profiles?: string[];
  extends?: string | { service?: string; file?: string };
}

export type ComposeExternal = boolean | string | { name?: string };

export interface ComposeNetwork {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, string | number>;
  external?: ComposeExternal;
  internal?: BoolLike;
  attachable?: BoolLike;
  enable_ipv6?: BoolLike;
  labels?: ListOrDict;
}

export interface ComposeVolume {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, string | number>;
  external?: ComposeExternal;
  labels?: ListOrDict;
}

export interface ComposeSecret {
  name?: string;
  file?: string;
  environment?: string;
  external?: ComposeExternal;
}

export interface ComposeConfig {
  name?: string;
  file?: string;
  environment?: string;
  content?: string;
}

export interface ComposeDocument {
  version?: string;
  name?: string;
  services: Record<string, ComposeService>;
  networks?: Record<string, ComposeNetwork | null>;
  volumes?: Record<string, ComposeVolume | null>;
  secrets?: Record<string, ComposeSecret>;
  configs?: Record<string, ComposeConfig>;
}
