// A typed client for the Holdfast API (Kubernetes conventions) over fetch. Every request has a
// timeout; failures become HoldfastErrors the CLI can print without a stack trace.
import type { WebSocket } from 'ws';
import type { AppliedObject } from '../core/apply-merge.js';
import { API_VERSION, type KindInfo, type Resource } from '../core/resource.js';
import { HoldfastError, type ErrorReason, type FieldCause } from '../core/errors.js';
import type { ClientConfig } from './config.js';
import { sendHttp, type HttpAnswer } from './http-request.js';

export interface ResourceList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: Resource[];
}

export interface StatusObject {
  kind: 'Status';
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; group?: string; causes?: Array<{ field?: string; message?: string; reason?: string }> };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent {
  type: WatchEventType;
  object: Resource | StatusObject;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
}

/** Kubernetes DeleteOptions as the Holdfast API reads them (api/delete-guard.ts). */
export interface DeleteOptions {
  /** `Foreground`: a Project with everything in it. */
  propagationPolicy?: 'Foreground';
  /** 0: a Server even while Services target it. */
  gracePeriodSeconds?: number;
  /** Objects of the Project deleted along with it by the same command. */
  alsoDeleting?: Array<{ kind: string; name: string }>;
}

export interface WriteOptions {
  dryRun?: boolean;
}

/** An error the API answered with (a Status object); printed as `Error from server (Reason): message`. */
export class ApiError extends HoldfastError {
  /** The reason exactly as the server spelled it (it may be one the client does not know). */
  readonly serverReason: string;
  readonly httpStatus: number;

  constructor(httpStatus: number, serverReason: string, message: string, causes: FieldCause[], details?: { kind?: string; name?: string; group?: string }) {
    super(reasonForClient(serverReason, httpStatus), message, { causes, details });
    this.name = 'ApiError';
    this.serverReason = serverReason;
    this.httpStatus = httpStatus;
  }
}

/** The API could not be reached at all (refused, DNS, reset, timeout). */
export class ApiUnreachableError extends HoldfastError {
  constructor(message: string) {
    super('ServiceUnavailable', message);
    this.name = 'ApiUnreachableError';
  }
}

const KNOWN_REASONS = new Set<string>([
  'BadRequest', 'Invalid', 'NotFound', 'AlreadyExists', 'Conflict', 'Unauthorized', 'Forbidden', 'MethodNotAllowed',
  'UnsupportedMediaType', 'RequestEntityTooLarge', 'TooManyRequests', 'Gone', 'Timeout', 'ServiceUnavailable', 'InternalError',
]);

const REASON_BY_CODE: Record<number, ErrorReason> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict',
  410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
  503: 'ServiceUnavailable', 504: 'Timeout',
};

function reasonForClient(serverReason: string, httpStatus: number): ErrorReason {
  if (KNOWN_REASONS.has(serverReason)) return serverReason as ErrorReason;
  return REASON_BY_CODE[httpStatus] ?? 'InternalError';
}

export function isStatusObject(value: unknown): value is StatusObject {
  return !!value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'Status';
}

export function apiErrorFromStatus(status: StatusObject, httpStatus: number): ApiError {
  const code = status.code ?? httpStatus;
  const reason = status.reason || REASON_BY_CODE[code] || 'InternalError';
  const causes: FieldCause[] = (status.details?.causes ?? []).map((c) => ({
    field: c.field ?? '',
    message: c.message ?? '',
    reason: c.reason,
  }));
  const details = status.details ? { kind: status.details.kind, name: status.details.name, group: status.details.group } : undefined;
  return new ApiError(code, reason, status.message || `the server answered HTTP ${code}`, causes, details);
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON-encoded, unless bytes (sent as they are, with contentType). */
  body?: unknown;
  contentType?: string;
  /** Overrides the configured request timeout (uploads). */
  timeoutMs?: number;
  /** A 401 is the endpoint's own answer (a refused sign-in), not a verdict on the client's token. */
  signIn?: boolean;
}

/** Build context uploads may be large: they get at least this long. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

export class HoldfastClient {
  private readonly warned = new Set<string>();
  /** Made on first use when a certificate authority is configured: connections trust it instead of the system's. */

  constructor(
    private readonly config: ClientConfig,
    /** Where the server's warnings go; kubectl prints them to stderr, each once. */
    private readonly printWarning: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  private warn(text: string) {
    if (this.warned.has(text)) return;
    this.warned.add(text);
    this.printWarning(`Warning: ${text}`);
  }

  get server(): string {
    return this.config.server;
  }

  /** `/apis/holdfast.dev/v1alpha1/[namespaces/{ns}/]{plural}[/{name}]`. */
  resourcePath(kind: KindInfo, namespace?: string, name?: string): string {
    let path = `/apis/${API_VERSION}`;
    if (kind.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
    path += `/${kind.plural}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    return path;
  }

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    return (await this.request({ method: 'GET', path: this.resourcePath(kind, namespace, name) })) as Resource;
  }

  /** GET, with 404 answered as undefined. */
  async getIfExists(kind: KindInfo, name: string, namespace?: string): Promise<Resource | undefined> {
    try {
      return await this.get(kind, name, namespace);
    } catch (err) {
      if (err instanceof ApiError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  async list(kind: KindInfo, opts: ListOptions = {}): Promise<ResourceList> {
    return (await this.request({
      method: 'GET',
      path: this.resourcePath(kind, opts.namespace),
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continueToken },
    })) as ResourceList;
  }

  /** Lists every page, following `continue` tokens. */
  async listAll(kind: KindInfo, opts: Omit<ListOptions, 'continueToken'> = {}): Promise<ResourceList> {
    const first = await this.list(kind, opts);
    const items = [...(first.items ?? [])];
    let next = first.metadata?.continue;
    let last = first;
    while (next) {
      last = await this.list(kind, { ...opts, continueToken: next });
      items.push(...(last.items ?? []));
      next = last.metadata?.continue;
    }
    return { ...first, metadata: { resourceVersion: last.metadata?.resourceVersion ?? first.metadata?.resourceVersion }, items };
  }

  async create(kind: KindInfo, obj: Resource, opts: WriteOptions = {}): Promise<Resource> {
    return (await this.request({
      method: 'POST',
      path: this.resourcePath(kind, obj.metadata.namespace),
      query: dryRunQuery(opts),
      body: obj,
    })) as Resource;
  }

  async replace(kind: KindInfo, obj: Resource, opts: WriteOptions = {}): Promise<Resource> {
    return (await this.request({
      method: 'PUT',
      path: this.resourcePath(kind, obj.metadata.namespace, obj.metadata.name),
      query: dryRunQuery(opts),
      body: obj,
    })) as Resource;
  }

  /** PUT of the status subresource. */
  async replaceStatus(kind: KindInfo, obj: Resource): Promise<Resource> {
    return (await this.request({ method: 'PUT', path: `${this.resourcePath(kind, obj.metadata.namespace, obj.metadata.name)}/status`, body: obj })) as Resource;
  }

  async mergePatch(kind: KindInfo, name: string, namespace: string | undefined, patch: unknown, opts: WriteOptions = {}): Promise<Resource> {
    return (await this.request({
      method: 'PATCH',
      path: this.resourcePath(kind, namespace, name),
      query: dryRunQuery(opts),
      body: patch,
      contentType: 'application/merge-patch+json',
    })) as Resource;
  }

  /** Server-side apply of a set: every object in one request, stored all or none; the answers in the objects' order. */
  async applySet(objects: Resource[], opts: WriteOptions = {}): Promise<AppliedObject[]> {
    const result = (await this.request({
      method: 'POST',
      path: `/apis/${API_VERSION}/apply`,
      query: dryRunQuery(opts),
      body: { apiVersion: 'v1', kind: 'List', items: objects },
    })) as { items: AppliedObject[] };
    return result.items;
  }

  /** Returns the object (with deletionTimestamp when finalizers remain) or the server's Status. */
  async delete(kind: KindInfo, name: string, namespace?: string, opts: WriteOptions & { options?: DeleteOptions } = {}): Promise<Resource | StatusObject> {
    const body = opts.options && Object.keys(opts.options).length ? { apiVersion: 'v1', kind: 'DeleteOptions', ...opts.options } : undefined;
    return (await this.request({ method: 'DELETE', path: this.resourcePath(kind, namespace, name), query: dryRunQuery(opts), body })) as
      | Resource
      | StatusObject;
  }

  /** `…/namespaces/{ns}/buildcontexts/{digest}`: a build context tar the control plane keeps. */
  buildContextPath(namespace: string, digest: string): string {
    return `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/buildcontexts/${encodeURIComponent(digest)}`;
  }

  /** Whether the control plane already holds the build context with this digest. */
  async hasBuildContext(namespace: string, digest: string): Promise<boolean> {
    try {
      await this.request({ method: 'GET', path: this.buildContextPath(namespace, digest) });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.httpStatus === 404) return false;
      throw err;
    }
  }

  /** Uploads a build context tar; the server checks it against its digest. */
  async uploadBuildContext(namespace: string, digest: string, tar: Uint8Array): Promise<void> {
    await this.request({
      method: 'PUT',
      path: this.buildContextPath(namespace, digest),
      body: tar,
      contentType: 'application/x-tar',
      timeoutMs: Math.max(this.config.requestTimeoutMs, UPLOAD_TIMEOUT_MS),
    });
  }

  async discovery(): Promise<unknown> {
    return this.request({ method: 'GET', path: `/apis/${API_VERSION}` });
  }

  /**
   * Streams watch events from `resourceVersion` until `signal` aborts or the server ends the stream.
   * Only the wait for response headers is bounded by the request timeout: a watch is meant to stay open.
   */
  async *watch(kind: KindInfo, opts: ListOptions & { resourceVersion?: string; signal?: AbortSignal }): AsyncGenerator<WatchEvent> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const headerTimer =
      this.config.requestTimeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, this.config.requestTimeoutMs)
        : undefined;
    try {
      const path = this.resourcePath(kind, opts.namespace);
      const query = {
        watch: 'true',
        resourceVersion: opts.resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      };
      const res = await this.send({ method: 'GET', path, query }, controller.signal);
      clearTimeout(headerTimer);
      if (!res.ok) throw await this.errorFromResponse(res);
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for await (const chunk of res.body) {
          buffered += decoder.decode(chunk, { stream: true });
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) yield parseWatchLine(line);
          }
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        throw new ApiUnreachableError(`the watch stream from ${this.config.server} broke: ${describeNetworkError(err)}`);
      }
      const rest = buffered.trim();
      if (rest) yield parseWatchLine(rest);
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (timedOut) {
        throw new ApiUnreachableError(`the Holdfast API at ${this.config.server} did not start the watch within ${this.config.requestTimeoutMs / 1000}s`);
      }
      throw err;
    } finally {
      clearTimeout(headerTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  /**
   * Streams a text response (a followed deployment log) chunk by chunk until the server ends it or
   * `signal` aborts. Only the wait for response headers is bounded by the request timeout.
   */
  async *streamText(req: ApiRequest, signal?: AbortSignal): AsyncGenerator<string> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const headerTimer =
      this.config.requestTimeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, this.config.requestTimeoutMs)
        : undefined;
    try {
      let res: HttpAnswer;
      try {
        res = await this.send(req, controller.signal);
      } catch (err) {
        if (timedOut) {
          throw new ApiUnreachableError(`the Holdfast API at ${this.config.server} did not answer ${req.method} ${req.path} within ${this.config.requestTimeoutMs / 1000}s`);
        }
        throw err;
      }
      clearTimeout(headerTimer);
      if (!res.ok) throw await this.errorFromResponse(res);
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body) {
          const text = decoder.decode(chunk, { stream: true });
          if (text) yield text;
        }
      } catch (err) {
        if (signal?.aborted) return;
        throw new ApiUnreachableError(`the stream from ${this.config.server} broke: ${describeNetworkError(err)}`);
      }
      const rest = decoder.decode();
      if (rest) yield rest;
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      clearTimeout(headerTimer);
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  async request(req: ApiRequest): Promise<unknown> {
    const timeoutMs = req.timeoutMs ?? this.config.requestTimeoutMs;
    const timeout = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    try {
      const res = await this.send(req, timeout);
      if (!res.ok) throw await this.errorFromResponse(res, req.signIn);
      const text = await res.text();
      if (!text) return undefined;
      try {
        return JSON.parse(text);
      } catch {
        throw new ApiUnreachableError(`${this.config.server} answered ${req.method} ${req.path} with something that is not JSON: is it a Holdfast API?`);
      }
    } catch (err) {
      if (err instanceof HoldfastError) throw err;
      if (timeout?.aborted) {
        throw new ApiUnreachableError(
          `the Holdfast API at ${this.config.server} did not answer ${req.method} ${req.path} within ${timeoutMs / 1000}s`,
        );
      }
      throw new ApiUnreachableError(`cannot reach the Holdfast API at ${this.config.server}: ${describeNetworkError(err)}`);
    }
  }

  /**
   * Opens a WebSocket on an API path (a terminal), the token in the Authorization header. Resolves
   * once it is open; a refusal comes back as the server's Status, as for any other request.
   */
  async openWebSocket(path: string, query: URLSearchParams, protocols: readonly string[]): Promise<WebSocket> {
    // Loaded here: only the terminal verbs need it, and every other command would pay its load.
    const { WebSocket } = await import('ws');
    const url = new URL(this.config.server + path);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = query.toString();
    const headers: Record<string, string> = this.config.token ? { Authorization: `Bearer ${this.config.token}` } : {};
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, [...protocols], { headers, handshakeTimeout: this.config.requestTimeoutMs || undefined, perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          const status = res.statusCode ?? 0;
          reject(isStatusObject(body) ? apiErrorFromStatus(body, status) : new ApiError(status, REASON_BY_CODE[status] ?? 'InternalError', `the server answered HTTP ${status} to the terminal upgrade`, []));
        });
      });
      ws.once('error', (err) => reject(new ApiUnreachableError(`cannot reach the Holdfast API at ${this.config.server}: ${describeNetworkError(err)}`)));
    });
  }

  private async send(req: ApiRequest, signal?: AbortSignal): Promise<HttpAnswer> {
    const url = new URL(this.config.server + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token}`;
    if (req.body !== undefined) headers['Content-Type'] = req.contentType ?? 'application/json';
    try {
      const res = await sendHttp(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : req.body instanceof Uint8Array ? req.body : JSON.stringify(req.body),
        ca: this.config.ca,
        signal,
      });
      for (const warning of parseWarnings(res.header('warning'))) this.warn(warning);
      return res;
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiUnreachableError(`cannot reach the Holdfast API at ${this.config.server}: ${describeNetworkError(err)}`);
    }
  }

  private async errorFromResponse(res: HttpAnswer, signIn = false): Promise<HoldfastError> {
    let body: unknown;
    try {
      body = JSON.parse(await res.text());
    } catch {
      body = undefined;
    }
    if (res.status === 401 && !(signIn && isStatusObject(body))) return this.unauthorized();
    if (isStatusObject(body)) return apiErrorFromStatus(body, res.status);
    return new ApiError(res.status, REASON_BY_CODE[res.status] ?? 'InternalError', `the server answered HTTP ${res.status} ${res.statusText}`.trim(), []);
  }

  private unauthorized(): HoldfastError {
    const hint = this.config.token
      ? `the token from ${this.config.tokenSource} was not accepted; check it, or pass another with --token or HOLDFAST_TOKEN`
      : `no token was found: pass --token, set HOLDFAST_TOKEN, or make ${this.config.tokenSource} (written by \`holdfast serve\`) readable`;
    return new ApiError(401, 'Unauthorized', `the Holdfast API at ${this.config.server} requires authentication: ${hint}`, []);
  }
}

function dryRunQuery(opts: WriteOptions): Record<string, string | undefined> {
  return { dryRun: opts.dryRun ? 'All' : undefined };
}

/** The texts of Kubernetes warning headers (`299 - "text"`, several joined by commas). */
export function parseWarnings(header: string | null | undefined): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const m of header.matchAll(/\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g)) out.push(m[1].replace(/\\(.)/g, '$1'));
  return out;
}

function parseWatchLine(line: string): WatchEvent {
  try {
    const event = JSON.parse(line) as WatchEvent;
    if (event && typeof event.type === 'string' && event.object && typeof event.object === 'object') return event;
  } catch {
    // fall through to the error below
  }
  throw new ApiUnreachableError('the watch stream carried a line that is not a watch event');
}

/** Connection refused is by far the most common case: say what to do about it. */
function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'is `holdfast serve` running?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'the connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'the host is unreachable';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `its certificate is not signed by an authority this CLI trusts (${code}): pass the authority's PEM file with --certificate-authority FILE or HOLDFAST_CA_FILE`;
    default:
      return code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  }
}
