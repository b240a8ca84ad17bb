// JSON schema of the Compose files Holdfast deploys: the part of the Compose Specification
// (https://github.com/compose-spec/compose-spec, schema/compose-spec.json) that has a meaning on
// Docker Engine, written for Holdfast. Keys follow the specification; every mapping closes with
// `additionalProperties: false`, so a key Holdfast does not support is reported by name instead of
// being dropped. Unions are written as type lists rather than oneOf, so ajv reports one precise
// error per mistake.

type Schema = Record<string, unknown>;

const X_EXTENSIONS = { '^x-': {} };

/** A mapping whose keys are all listed: anything else is "not supported". */
function closed(properties: Record<string, Schema>, extra: Schema = {}): Schema {
  return { type: 'object', properties, patternProperties: X_EXTENSIONS, additionalProperties: false, ...extra };
}

const str: Schema = { type: 'string' };
const bool: Schema = { type: ['boolean', 'string'], pattern: '^(true|false|True|False|TRUE|FALSE|yes|no)$' };
const intOrString: Schema = { type: ['integer', 'string'] };
const numberOrString: Schema = { type: ['number', 'string'] };
const listOfStrings: Schema = { type: 'array', items: str };
const stringOrList: Schema = { type: ['string', 'array'], items: str };
const listOrDict: Schema = {
  type: ['object', 'array'],
  items: str,
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
};
const command: Schema = { type: ['null', 'string', 'array'], items: str };
const NAME = '^[a-zA-Z0-9._-]+$';

const build: Schema = {
  type: ['string', 'object'],
  properties: { context: str, dockerfile: str, args: listOrDict, target: str },
  patternProperties: X_EXTENSIONS,
  additionalProperties: false,
};

const port: Schema = {
  type: ['number', 'string', 'object'],
  properties: {
    name: str,
    mode: { type: 'string', enum: ['host', 'ingress'] },
    host_ip: str,
    target: intOrString,
    published: intOrString,
    protocol: { type: 'string', enum: ['tcp', 'udp', 'sctp'] },
    app_protocol: str,
  },
  required: [],
  patternProperties: X_EXTENSIONS,
  additionalProperties: false,
};

const volumeMount: Schema = {
  type: ['string', 'object'],
  required: [],
  properties: {
    type: { type: 'string', enum: ['bind', 'volume', 'tmpfs'] },
    source: str,
    target: str,
    read_only: bool,
    consistency: str,
    bind: closed({ propagation: str, create_host_path: bool, selinux: { type: 'string', enum: ['z', 'Z'] } }),
    volume: closed({ nocopy: bool, subpath: str }),
    tmpfs: closed({ size: intOrString, mode: numberOrString }),
  },
  patternProperties: X_EXTENSIONS,
  additionalProperties: false,
};

const serviceNetworks: Schema = {
  type: ['array', 'object'],
  items: str,
  propertyNames: { pattern: NAME },
  additionalProperties: {
    type: ['object', 'null'],
    properties: { aliases: listOfStrings, ipv4_address: str, ipv6_address: str },
    patternProperties: X_EXTENSIONS,
    additionalProperties: false,
  },
};

const dependsOn: Schema = {
  type: ['array', 'object'],
  items: str,
  propertyNames: { pattern: NAME },
  additionalProperties: closed(
    {
      condition: { type: 'string', enum: ['service_started', 'service_healthy', 'service_completed_successfully'] },
      required: bool,
      restart: bool,
    },
    { required: ['condition'] },
  ),
};

const healthcheck: Schema = closed({
  disable: bool,
  interval: str,
  retries: numberOrString,
  test: { type: ['string', 'array'], items: str },
  timeout: str,
  start_period: str,
  start_interval: str,
});

const configOrSecretRef: Schema = {
  type: 'array',
  items: {
    type: ['string', 'object'],
    properties: { source: str, target: str, uid: str, gid: str, mode: numberOrString },
    required: [],
    patternProperties: X_EXTENSIONS,
    additionalProperties: false,
  },
};

const ulimits: Schema = {
  type: 'object',
  propertyNames: { pattern: '^[a-z]+$' },
  additionalProperties: {
    type: ['integer', 'string', 'object'],
    properties: { soft: intOrString, hard: intOrString },
    required: [],
    patternProperties: X_EXTENSIONS,
    additionalProperties: false,
  },
};

const deploy: Schema = {
  type: ['object', 'null'],
  properties: {
    replicas: intOrString,
    resources: closed({
      limits: closed({ cpus: numberOrString, memory: numberOrString, pids: intOrString }),
      reservations: closed({ cpus: numberOrString, memory: numberOrString }),
    }),
    restart_policy: closed({ condition: { type: 'string', enum: ['none', 'no', 'on-failure', 'any', 'always', 'unless-stopped'] }, delay: str, max_attempts: intOrString, window: str }),
    mode: { type: 'string', enum: ['replicated', 'global'] },
    endpoint_mode: { type: 'string', enum: ['vip', 'dnsrr'] },
    labels: listOrDict,
    placement: closed({
      constraints: listOfStrings,
      preferences: { type: 'array', items: closed({ spread: str }, { required: ['spread'] }) },
      max_replicas_per_node: intOrString,
    }),
    update_config: closed({
      parallelism: intOrString,
      order: { type: 'string', enum: ['start-first', 'stop-first'] },
      delay: str,
      failure_action: { type: 'string', enum: ['pause', 'continue', 'rollback'] },
      monitor: str,
      max_failure_ratio: numberOrString,
    }),
    rollback_config: closed({
      parallelism: intOrString,
      order: { type: 'string', enum: ['start-first', 'stop-first'] },
      delay: str,
      failure_action: { type: 'string', enum: ['pause', 'continue'] },
      monitor: str,
      max_failure_ratio: numberOrString,
    }),
  },
  patternProperties: X_EXTENSIONS,
  additionalProperties: false,
};

/** The service keys Holdfast maps onto a container. */
export const SUPPORTED_SERVICE_KEYS = [
  'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'expose', 'volumes', 'tmpfs',
  'networks', 'network_mode', 'depends_on', 'healthcheck', 'restart', 'labels', 'container_name', 'hostname',
  'domainname', 'user', 'working_dir', 'stop_signal', 'stop_grace_period', 'init', 'tty', 'stdin_open',
  'privileged', 'read_only', 'cap_add', 'cap_drop', 'security_opt', 'sysctls', 'ulimits', 'shm_size', 'devices',
  'dns', 'dns_search', 'dns_opt', 'extra_hosts', 'group_add', 'logging', 'platform', 'runtime', 'mem_limit',
  'mem_reservation', 'cpus', 'pids_limit', 'scale', 'deploy', 'secrets', 'configs', 'profiles', 'extends',
] as const;

const service: Schema = closed({
  image: str,
  build,
  command,
  entrypoint: command,
  environment: listOrDict,
  env_file: {
    type: ['string', 'array'],
    items: {
      type: ['string', 'object'],
      properties: { path: str, required: bool },
      required: [],
      additionalProperties: false,
    },
  },
  ports: { type: 'array', items: port },
  expose: { type: 'array', items: { type: ['string', 'number'] } },
  volumes: { type: 'array', items: volumeMount },
  tmpfs: stringOrList,
  networks: serviceNetworks,
  network_mode: str,
  depends_on: dependsOn,
  healthcheck,
  restart: { type: 'string', pattern: '^(no|always|unless-stopped|on-failure(:[0-9]+)?)$' },
  labels: listOrDict,
  container_name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$' },
  hostname: str,
  domainname: str,
  user: str,
  working_dir: str,
  stop_signal: str,
  stop_grace_period: str,
  init: bool,
  tty: bool,
  stdin_open: bool,
  privileged: bool,
  read_only: bool,
  cap_add: listOfStrings,
  cap_drop: listOfStrings,
  security_opt: listOfStrings,
  sysctls: listOrDict,
  ulimits,
  shm_size: numberOrString,
  devices: {
    type: 'array',
    items: {
      type: ['string', 'object'],
      properties: { source: str, target: str, permissions: str },
      required: [],
      patternProperties: X_EXTENSIONS,
      additionalProperties: false,
    },
  },
  dns: stringOrList,
  dns_search: stringOrList,
  dns_opt: listOfStrings,
  extra_hosts: {
    type: ['array', 'object'],
    items: str,
    additionalProperties: { type: ['string', 'array'], items: str },
  },
  group_add: { type: 'array', items: { type: ['string', 'number'] } },
  logging: closed({ driver: str, options: { type: 'object', additionalProperties: { type: ['string', 'number', 'null'] } } }),
  platform: str,
  runtime: str,
  mem_limit: numberOrString,
  mem_reservation: numberOrString,
  cpus: numberOrString,
  pids_limit: numberOrString,
  scale: intOrString,
  deploy,
  secrets: configOrSecretRef,
  configs: configOrSecretRef,
  profiles: listOfStrings,
  extends: {
    type: ['string', 'object'],
    properties: { service: str, file: str },
    required: [],
    additionalProperties: false,
  },
});

const external: Schema = {
  type: ['boolean', 'string', 'object'],
  properties: { name: str },
  additionalProperties: false,
};

const network: Schema = {
  type: ['object', 'null'],
  properties: {
    name: str,
    driver: str,
    driver_opts: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
    external,
    internal: bool,
    attachable: bool,
    enable_ipv6: bool,
    labels: listOrDict,
  },
  patternProperties: X_EXTENSIONS,
  additionalProperties: false,
};

const volume: Schema = {
  type: ['object', 'null'],
  properties: {
    name: str,
    driver: str,
    driver_opts: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
    external,
    labels: listOrDict,
  },
  patternProperties: X_EXTENSIONS,
  additionalProperties: false,
};

const secret: Schema = closed({ name: str, file: str, environment: str, external });
const config: Schema = closed({ name: str, file: str, environment: str, content: str });

export const COMPOSE_SCHEMA: Schema = {
  $id: 'holdfast-compose',
  type: 'object',
  required: ['services'],
  properties: {
    version: str,
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' },
    services: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: service },
    networks: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: network },
    volumes: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: volume },
    secrets: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: secret },
    configs: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: config },
  },
  patternProperties: X_EXTENSIONS,
  additionalProperties: false,
};

/**
 * Service keys of the Compose Specification, so a message can tell a key Holdfast does not
 * support from a misspelt one.
 */
export const COMPOSE_SERVICE_KEYS: ReadonlySet<string> = new Set([
  ...SUPPORTED_SERVICE_KEYS,
  'develop', 'annotations', 'attach', 'blkio_config', 'cgroup', 'cgroup_parent', 'cpu_count', 'cpu_percent',
  'cpu_shares', 'cpu_quota', 'cpu_period', 'cpu_rt_period', 'cpu_rt_runtime', 'cpuset', 'credential_spec',
  'device_cgroup_rules', 'external_links', 'gpus', 'ipc', 'isolation', 'label_file', 'links', 'mac_address',
  'memswap_limit', 'mem_swappiness', 'models', 'oom_kill_disable', 'oom_score_adj', 'pid', 'post_start',
  'pre_stop', 'provider', 'pull_policy', 'pull_refresh_after', 'storage_opt', 'use_api_socket', 'userns_mode',
  'uts', 'volumes_from',
]);
