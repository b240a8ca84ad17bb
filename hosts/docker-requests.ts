// Docker Engine API requests built as values. Pure: a request says what to send (method, path without
// the API version, query, body); the client sends it over a transport. Tests assert on these values
// without a host.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
/** Arrays repeat the key (`t=a&t=b`). */
export type QueryValue = string | number | boolean | string[] | undefined;

/** Docker's filter form: `{"label": ["a=b"], "status": ["running"]}`. */
export type DockerFilters = Record<string, string[]>;

export interface DockerRequest {
  method: HttpMethod;
  /** Path under the API version, e.g. `/containers/json`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** JSON body. */
  body?: unknown;
  /** A non-JSON body (a build context); the data is given at send time. */
  bodyContentType?: string;
  /** Extra headers. `X-Registry-Auth` carries credentials: requests are never logged with headers. */
  headers?: Record<string, string>;
  /** Statuses that count as success besides 2xx, e.g. 304 from start/stop of a container already there. */
  okStatuses?: number[];
  /** `/_ping` and friends live outside the versioned tree. */
  unversioned?: boolean;
}

export interface ContainerListQuery {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: DockerFilters;
}

export interface ContainerLogsQuery {
  stdout?: boolean;
  stderr?: boolean;
  /** Unix seconds; a string keeps nanoseconds ("1733312345.123456789"), which a number cannot hold. */
  since?: number | string;
  until?: number;
  timestamps?: boolean;
  /** Lines from the end, or 'all'. */
  tail?: number | 'all';
  follow?: boolean;
}

export interface BuildQuery {
  /** Image references to tag the result with. */
  tags?: string[];
  /** Path of the Dockerfile inside the context. */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** Try to pull newer base images. */
  pull?: boolean;
  platform?: string;
}

export interface EventsQuery {
  /** Unix seconds, fractional allowed (`1700000000.123456789`), as a string to keep nanoseconds. */
  since?: string;
  until?: string;
  filters?: DockerFilters;
}

export interface TerminalSize {
  rows: number;
  cols: number;
}

export interface ExecConfig {
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  env?: string[];
  user?: string;
  workingDir?: string;
  /** The terminal's size at the start (API 1.42+; older daemons take a resize after the start). */
  size?: TerminalSize;
}

/** Registry credentials for pulls, sent base64-encoded in `X-Registry-Auth`. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

const id = (value: string) => encodeURIComponent(value);
// Image names keep their `/`, `:` and `@` so the daemon's router reads them as written.
const imageName = (value: string) =>
  encodeURIComponent(value).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/g, '@');
const flag = (value: boolean | undefined) => (value === undefined ? undefined : value);
const filtersQuery = (filters: DockerFilters | undefined) =>
  filters && Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined;

export const dockerRequests = {
  ping: (): DockerRequest => ({ method: 'GET', path: '/_ping', unversioned: true }),
  version: (): DockerRequest => ({ method: 'GET', path: '/version' }),
  info: (): DockerRequest => ({ method: 'GET', path: '/info' }),
  systemDf: (): DockerRequest => ({ method: 'GET', path: '/system/df' }),
  buildPrune: (filters: DockerFilters): DockerRequest => ({ method: 'POST', path: '/build/prune', query: { filters: filtersQuery(filters) } }),

  containerList: (q: ContainerListQuery = {}): DockerRequest => ({
    method: 'GET',
    path: '/containers/json',
    query: { all: flag(q.all), limit: q.limit, size: flag(q.size), filters: filtersQuery(q.filters) },
  }),
  containerInspect: (container: string): DockerRequest => ({ method: 'GET', path: `/containers/${id(container)}/json` }),
  containerCreate: (name: string | undefined, config: object, platform?: string): DockerRequest => ({
    method: 'POST',
    path: '/containers/create',
    query: { name, platform },
    body: config,
  }),
  containerStart: (container: string): DockerRequest => ({
    method: 'POST',
    path: `/containers/${id(container)}/start`,
    okStatuses: [304],
  }),
  containerStop: (container: string, opts: { timeoutSeconds?: number; signal?: string } = {}): DockerRequest => ({
    method: 'POST',
    path: `/containers/${id(container)}/stop`,
    query: { t: opts.timeoutSeconds, signal: opts.signal },
    okStatuses: [304],
  }),
  containerKill: (container: string, signal?: string): DockerRequest => ({
    method: 'POST',
    path: `/containers/${id(container)}/kill`,
    query: { signal },
  }),
  containerRemove: (container: string, opts: { force?: boolean; volumes?: boolean } = {}): DockerRequest => ({
    method: 'DELETE',
    path: `/containers/${id(container)}`,
    query: { force: flag(opts.force), v: flag(opts.volumes) },
  }),
  containerPause: (container: string): DockerRequest => ({ method: 'POST', path: `/containers/${id(container)}/pause` }),
  containerUnpause: (container: string): DockerRequest => ({ method: 'POST', path: `/containers/${id(container)}/unpause` }),
  containerRename: (container: string, name: string): DockerRequest => ({
    method: 'POST',
    path: `/containers/${id(container)}/rename`,
    query: { name },
  }),
  containerWait: (container: string, condition?: 'not-running' | 'next-exit' | 'removed'): DockerRequest => ({
    method: 'POST',
    path: `/containers/${id(container)}/wait`,
    query: { condition },
  }),
  /** A tar of `path` in the container (its last path element is the archive's top entry). */
  containerArchiveGet: (container: string, path: string): DockerRequest => ({
    method: 'GET',
    path: `/containers/${id(container)}/archive`,
    query: { path },
  }),
  /** Whether `path` exists in the container: 200 with its stat in a header, 404 when it does not. */
  containerArchiveStat: (container: string, path: string): DockerRequest => ({
    method: 'HEAD',
    path: `/containers/${id(container)}/archive`,
    query: { path },
    okStatuses: [404],
  }),
  /** Extracts a tar into the directory `path` of the container. */
  containerArchivePut: (container: string, path: string): DockerRequest => ({
    method: 'PUT',
    path: `/containers/${id(container)}/archive`,
    query: { path },
    bodyContentType: 'application/x-tar',
  }),
  containerLogs: (container: string, q: ContainerLogsQuery = {}): DockerRequest => ({
    method: 'GET',
    path: `/containers/${id(container)}/logs`,
    query: {
      stdout: q.stdout ?? true,
      stderr: q.stderr ?? true,
      since: q.since,
      until: q.until,
      timestamps: flag(q.timestamps),
      tail: q.tail,
      follow: flag(q.follow),
    },
  }),

  execCreate: (container: string, config: ExecConfig): DockerRequest => ({
    method: 'POST',
    path: `/containers/${id(container)}/exec`,
    body: {
      Cmd: config.cmd,
      Tty: config.tty,
      AttachStdin: config.stdin,
      AttachStdout: true,
      AttachStderr: true,
      ...(config.env ? { Env: config.env } : {}),
      ...(config.user ? { User: config.user } : {}),
      ...(config.workingDir ? { WorkingDir: config.workingDir } : {}),
      ...(config.tty && config.size ? { ConsoleSize: [config.size.rows, config.size.cols] } : {}),
    },
  }),
  /** Sent as an HTTP upgrade: the connection then carries the process's stdio both ways. */
  execStart: (exec: string, tty: boolean): DockerRequest => ({
    method: 'POST',
    path: `/exec/${id(exec)}/start`,
    body: { Detach: false, Tty: tty },
    headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
  }),
  execResize: (exec: string, size: TerminalSize): DockerRequest => ({
    method: 'POST',
    path: `/exec/${id(exec)}/resize`,
    query: { h: size.rows, w: size.cols },
  }),
  execInspect: (exec: string): DockerRequest => ({ method: 'GET', path: `/exec/${id(exec)}/json` }),

  imageList: (q: { all?: boolean; filters?: DockerFilters } = {}): DockerRequest => ({
    method: 'GET',
    path: '/images/json',
    query: { all: flag(q.all), filters: filtersQuery(q.filters) },
  }),
  imageInspect: (image: string): DockerRequest => ({ method: 'GET', path: `/images/${imageName(image)}/json` }),
  imagePull: (reference: string, opts: { platform?: string; auth?: RegistryAuth } = {}): DockerRequest => ({
    method: 'POST',
    path: '/images/create',
    query: { fromImage: reference, platform: opts.platform },
    headers: opts.auth ? { 'X-Registry-Auth': encodeRegistryAuth(opts.auth) } : undefined,
  }),
  imageTag: (image: string, repo: string, tag?: string): DockerRequest => ({
    method: 'POST',
    path: `/images/${imageName(image)}/tag`,
    query: { repo, tag },
  }),
  imageRemove: (image: string, opts: { force?: boolean; noPrune?: boolean } = {}): DockerRequest => ({
    method: 'DELETE',
    path: `/images/${imageName(image)}`,
    query: { force: flag(opts.force), noprune: flag(opts.noPrune) },
  }),
  build: (q: BuildQuery = {}): DockerRequest => ({
    method: 'POST',
    path: '/build',
    query: {
      t: q.tags && q.tags.length > 0 ? q.tags : undefined,
      dockerfile: q.dockerfile,
      buildargs: q.buildArgs && Object.keys(q.buildArgs).length > 0 ? JSON.stringify(q.buildArgs) : undefined,
      labels: q.labels && Object.keys(q.labels).length > 0 ? JSON.stringify(q.labels) : undefined,
      target: q.target,
      nocache: flag(q.noCache),
      pull: flag(q.pull),
      platform: q.platform,
      rm: true,
      forcerm: true,
    },
    bodyContentType: 'application/x-tar',
  }),

  networkList: (filters?: DockerFilters): DockerRequest => ({ method: 'GET', path: '/networks', query: { filters: filtersQuery(filters) } }),
  networkInspect: (network: string): DockerRequest => ({ method: 'GET', path: `/networks/${id(network)}` }),
  networkCreate: (config: { Name: string; [field: string]: unknown }): DockerRequest => ({
    method: 'POST',
    path: '/networks/create',
    body: { CheckDuplicate: true, ...config },
  }),
  networkRemove: (network: string): DockerRequest => ({ method: 'DELETE', path: `/networks/${id(network)}` }),
  networkConnect: (network: string, container: string, endpointConfig?: object): DockerRequest => ({
    method: 'POST',
    path: `/networks/${id(network)}/connect`,
    body: { Container: container, EndpointConfig: endpointConfig },
  }),
  networkDisconnect: (network: string, container: string, force?: boolean): DockerRequest => ({
    method: 'POST',
    path: `/networks/${id(network)}/disconnect`,
    body: { Container: container, Force: force ?? false },
  }),

  volumeList: (filters?: DockerFilters): DockerRequest => ({ method: 'GET', path: '/volumes', query: { filters: filtersQuery(filters) } }),
  volumeInspect: (volume: string): DockerRequest => ({ method: 'GET', path: `/volumes/${id(volume)}` }),
  volumeCreate: (config: { Name: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }): DockerRequest => ({
    method: 'POST',
    path: '/volumes/create',
    body: config,
  }),
  volumeRemove: (volume: string, opts: { force?: boolean } = {}): DockerRequest => ({
    method: 'DELETE',
    path: `/volumes/${id(volume)}`,
    query: { force: flag(opts.force) },
  }),

  serviceList: (filters?: DockerFilters): DockerRequest => ({ method: 'GET', path: '/services', query: { filters: filtersQuery(filters) } }),
  serviceInspect: (service: string): DockerRequest => ({ method: 'GET', path: `/services/${id(service)}` }),
  /**
   * POST /services/create. From API 1.30 the daemon does not resolve the image against a registry
   * here (the CLI does, unless --no-resolve-image): the reference is used as sent, so an image
   * that exists only on the nodes works.
   */
  serviceCreate: (spec: object): DockerRequest => ({ method: 'POST', path: '/services/create', body: spec }),
  /** POST /services/{id}/update?version=N: N is the service's current Version.Index (optimistic locking). */
  serviceUpdate: (service: string, version: number, spec: object): DockerRequest => ({
    method: 'POST',
    path: `/services/${id(service)}/update`,
    query: { version },
    body: spec,
  }),
  /**
   * POST /services/{id}/update?version=N&rollback=previous: Swarm puts the service's PreviousSpec back
   * (the spec sent is ignored, but must be the current one).
   */
  serviceRollback: (service: string, version: number, currentSpec: object): DockerRequest => ({
    method: 'POST',
    path: `/services/${id(service)}/update`,
    query: { version, rollback: 'previous' },
    body: currentSpec,
  }),
  serviceRemove: (service: string): DockerRequest => ({ method: 'DELETE', path: `/services/${id(service)}` }),
  /** GET /configs or /secrets: the Swarm configs or secrets (without their data). */
  swarmFileList: (kind: 'config' | 'secret', filters?: DockerFilters): DockerRequest => ({ method: 'GET', path: `/${kind}s`, query: { filters: filtersQuery(filters) } }),
  /** POST /configs/create or /secrets/create; the body holds the content (base64): send it, never log it. */
  swarmFileCreate: (kind: 'config' | 'secret', spec: { Name: string; Labels: Record<string, string>; Data: string }): DockerRequest => ({ method: 'POST', path: `/${kind}s/create`, body: spec }),
  swarmFileRemove: (kind: 'config' | 'secret', object: string): DockerRequest => ({ method: 'DELETE', path: `/${kind}s/${id(object)}` }),
  taskList: (filters?: DockerFilters): DockerRequest => ({ method: 'GET', path: '/tasks', query: { filters: filtersQuery(filters) } }),
  taskInspect: (task: string): DockerRequest => ({ method: 'GET', path: `/tasks/${id(task)}` }),
  nodeList: (filters?: DockerFilters): DockerRequest => ({ method: 'GET', path: '/nodes', query: { filters: filtersQuery(filters) } }),
  nodeInspect: (node: string): DockerRequest => ({ method: 'GET', path: `/nodes/${id(node)}` }),
  /** POST /nodes/{id}/update?version=N: the whole NodeSpec (role, availability, labels); N is the node's Version.Index. */
  nodeUpdate: (node: string, version: number, spec: object): DockerRequest => ({ method: 'POST', path: `/nodes/${id(node)}/update`, query: { version }, body: spec }),

  events: (q: EventsQuery = {}): DockerRequest => ({
    method: 'GET',
    path: '/events',
    query: { since: q.since, until: q.until, filters: filtersQuery(q.filters) },
  }),
};

export function encodeRegistryAuth(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64url');
}

/** The request line target: `/v1.41/containers/json?all=1`. Booleans become 1/0; undefined is left out. */
export function requestTarget(request: DockerRequest, apiVersion: string | undefined): string {
  const prefix = request.unversioned || !apiVersion ? '' : `/v${apiVersion}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.append(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const query = params.toString();
  return `${prefix}${request.path}${query ? `?${query}` : ''}`;
}

/** `METHOD /path` for messages: no query, which may hold user values. */
export function describeRequest(request: DockerRequest): string {
  return `${request.method} ${request.path}`;
}
