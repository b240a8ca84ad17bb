// Talks to the Holdfast API with a bearer token, or with the session cookie of a password sign-in
// (then every state-changing call echoes the CSRF cookie in X-CSRF-Token). Every call has a
// deadline; errors come back as ApiError, built from the Kubernetes Status the API answers with (or
// from what went wrong on the way there).
import { bearerProtocol, CHANNEL_PROTOCOL_V5 } from '../../../core/terminal/channel-protocol.js';
import type { ApiStatus } from './types.js';

export const API_BASE = '/apis/holdfast.dev/v1alpha1';
const REQUEST_TIMEOUT_MS = 15_000;
const CSRF_COOKIE = 'holdfast_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How the dashboard proves who it is: an API token, or the session cookie the browser holds. */
export type Credential = { token: string } | { session: true };

/** The CSRF value the server set beside the session cookie; present while a session may be open. */
export function csrfCookie(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === CSRF_COOKIE && value.join('=')) return value.join('=');
  }
  return undefined;
}

export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly code: number,
    readonly reason: string,
    readonly causes: Array<{ field?: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get notFound() {
    return this.code === 404;
  }
}

/** `/apis/holdfast.dev/v1alpha1/[namespaces/{ns}/]{plural}[/{name}[/{sub}]]` */
export function resourcePath(plural: string, opts: { namespace?: string; name?: string; sub?: string } = {}): string {
  const ns = opts.namespace ? `/namespaces/${encodeURIComponent(opts.namespace)}` : '';
  const name = opts.name ? `/${encodeURIComponent(opts.name)}` : '';
  const sub = opts.name && opts.sub ? `/${opts.sub}` : '';
  return `${API_BASE}${ns}/${plural}${name}${sub}`;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** No deadline: for streams that stay open (watch, log follow). */
  stream?: boolean;
  /** A longer deadline than the default, for actions the server answers when done (a backup). */
  timeoutMs?: number;
}

export class ApiClient {
  constructor(
    private readonly credential: Credential,
    /** Told when the server rejects the token, so the app can ask for another. */
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  get signedInWithSession(): boolean {
    return 'session' in this.credential;
  }

  async json<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, opts);
    return (await res.json()) as T;
  }

  /** Whether the signed-in subject may do `verb` on a resource (a SelfSubjectAccessReview, as `holdfast auth can-i`). */
  async may(resourceAttributes: { verb: string; resource: string; namespace?: string; name?: string }, signal?: AbortSignal): Promise<boolean> {
    const review = await this.json<{ status?: { allowed?: boolean } }>(`${API_BASE}/selfsubjectaccessreviews`, {
      method: 'POST',
      body: { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } },
      signal,
    });
    return review.status?.allowed === true;
  }

  /**
   * A WebSocket in Kubernetes' exec protocol; browsers cannot set headers on one, so a token travels
   * as the bearer subprotocol (a session's cookie goes with the upgrade by itself).
   */
  openChannel(path: string): WebSocket {
    const url = new URL(path, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, 'token' in this.credential ? [CHANNEL_PROTOCOL_V5, bearerProtocol(this.credential.token)] : [CHANNEL_PROTOCOL_V5]);
    socket.binaryType = 'arraybuffer';
    return socket;
  }

  /** The raw response of a successful call; the caller reads its body (e.g. as a stream). */
  async send(path: string, opts: RequestOptions = {}): Promise<Response> {
    const signals = [opts.signal, opts.stream ? undefined : AbortSignal.timeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS)].filter((s): s is AbortSignal => !!s);
    const method = opts.method ?? 'GET';
    const headers: Record<string, string> = { Accept: 'application/json' };
    if ('token' in this.credential) headers.Authorization = `Bearer ${this.credential.token}`;
    else if (!SAFE_METHODS.has(method)) headers['X-CSRF-Token'] = csrfCookie() ?? '';
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: signals.length ? AbortSignal.any(signals) : undefined,
        cache: 'no-store',
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new ApiError(timedOut ? 'The server did not answer in time.' : 'Cannot reach the Holdfast server.', 0, timedOut ? 'Timeout' : 'Unreachable');
    }
    if (res.ok) return res;
    const error = await errorFrom(res);
    if (error.code === 401) this.onUnauthorized();
    throw error;
  }
}

async function errorFrom(res: Response): Promise<ApiError> {
  let status: Partial<ApiStatus> | undefined;
  try {
    status = (await res.json()) as Partial<ApiStatus>;
  } catch {
    status = undefined;
  }
  if (status?.kind === 'Status' && typeof status.message === 'string') {
    return new ApiError(status.message, res.status, status.reason ?? '', status.details?.causes ?? []);
  }
  return new ApiError(`The server answered ${res.status} ${res.statusText}`.trim(), res.status, res.statusText || 'Error');
}
