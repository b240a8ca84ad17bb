// Talks to the Holdfast API with a bearer token. Every call has a deadline; errors come back as
// ApiError, built from the Kubernetes Status the API answers with (or from what went wrong on the
// way there).
import type { ApiStatus } from './types.js';

export const API_BASE = '/apis/holdfast.dev/v1alpha1';
const REQUEST_TIMEOUT_MS = 15_000;

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
}

export class ApiClient {
  constructor(
    private readonly token: string,
    /** Told when the server rejects the token, so the app can ask for another. */
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  async json<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, opts);
    return (await res.json()) as T;
  }

  /** The raw response of a successful call; the caller reads its body (e.g. as a stream). */
  async send(path: string, opts: RequestOptions = {}): Promise<Response> {
    const signals = [opts.signal, opts.stream ? undefined : AbortSignal.timeout(REQUEST_TIMEOUT_MS)].filter((s): s is AbortSignal => !!s);
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method: opts.method ?? 'GET',
        headers,
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
