// One request of the CLI to the API over node:http or node:https. Node's global fetch loads and
// compiles its bundled undici on first use and keeps the process alive for a while after the
// answer: together most of the wall time of a short command such as `holdfast get services`.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { lazyRequire } from './lazy-require.js';

export interface HttpAnswer {
  ok: boolean;
  status: number;
  statusText: string;
  header(name: string): string | undefined;
  text(): Promise<string>;
  /** The body as it arrives; fails when the request's signal aborts. */
  body: AsyncIterable<Uint8Array>;
}

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** PEM of the only certificate authority trusted for https. */
  ca?: string;
  signal?: AbortSignal;
}

/** Resolves once the response's headers are in; rejects with the socket's error (its `code` says which). */
export async function sendHttp(url: URL, req: HttpRequest): Promise<HttpAnswer> {
  const headers = { ...req.headers, ...(req.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(req.body)) } : {}) };
  const https = url.protocol === 'https:';
  // node:https brings TLS, ~10 ms of a start: loaded only for an https:// server.
  const httpsRequest = https ? (lazyRequire('node:https') as typeof import('node:https')).request : undefined;
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => resolve(answer(res));
    const options = { method: req.method, headers, signal: req.signal };
    const sent = httpsRequest ? httpsRequest(url, { ...options, ...(req.ca ? { ca: req.ca } : {}) }, onResponse) : httpRequest(url, options, onResponse);
    sent.once('error', reject);
    sent.end(req.body);
  });
}

function answer(res: IncomingMessage): HttpAnswer {
  const status = res.statusCode ?? 0;
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: res.statusMessage ?? '',
    header: (name) => {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    async text() {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    body: res,
  };
}
