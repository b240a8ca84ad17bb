// A Service's container logs over HTTP, as Kubernetes serves pods/log: plain text, chunked, one
// line per write (so the redactor sees whole lines), ending when the logs end or the client goes.
// Guarded by logs:read in the route table (api/scopes.ts).
//   GET …/namespaces/{ns}/services/{name}/log
//       ?follow=true &tailLines=N &sinceSeconds=N | sinceTime=RFC3339 &timestamps=true
//       &replica=N &container=COMPOSE_SERVICE &previous=true &prefix=true|false &format=json
import { once } from 'node:events';
import { Router, type Request } from 'express';
import type { ServiceLogSource } from '../controllers/logs/service-logs.js';
import { HoldfastError } from '../core/errors.js';
import { formatContainerLogLine } from '../core/logs/log-lines.js';
import type { Redactor } from '../security/redactor.js';
import type { ResourceStore } from '../store/resource-store.js';
import { requireScope } from './auth.js';
import { queryFlag, queryString } from './list-paging.js';
import { API_BASE } from './scopes.js';

export const SERVICE_LOG_PATH = `${API_BASE}/namespaces/:namespace/services/:name/log`;

export interface LogRoutesDeps {
  store: ResourceStore;
  redactor: Redactor;
  /** Reads containers over the host connections; without one (no controllers here) the route answers 503. */
  logs?: ServiceLogSource;
  clock?: () => Date;
}

export function logsRouter(deps: LogRoutesDeps): Router {
  const r = Router();
  const clock = deps.clock ?? (() => new Date());

  r.get(SERVICE_LOG_PATH, async (req, res) => {
    requireScope(req, ['logs:read'], 'get services/log');
    const query = logQuery(req, clock());
    const service = await deps.store.mustGet('Service', String(req.params.namespace), String(req.params.name));
    if (!deps.logs) throw new HoldfastError('ServiceUnavailable', 'container logs need the controllers, which do not run in this process');

    // The stream ends with the client: the engine's streams are cancelled with it.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const stream = await deps.logs.open(service, query, gone.signal);
    const prefix = query.prefix ?? stream.targets.length > 1;

    res.status(200);
    res.setHeader('Content-Type', query.format === 'json' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.flushHeaders();
    await stream.run(async (target, line) => {
      if (gone.signal.aborted) return;
      const text =
        query.format === 'json'
          ? JSON.stringify({ replica: target.replica, container: target.component, label: target.label, stream: line.stream, ...(line.time ? { time: line.time } : {}), line: deps.redactor.redactText(line.text) }) + '\n'
          : formatContainerLogLine(line, { label: prefix ? target.label : undefined, timestamps: query.timestamps });
      // A slow reader holds the engine's stream back rather than filling memory here.
      if (!res.write(text)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    });
    res.end();
  });

  return r;
}

interface LogQuery {
  follow: boolean;
  tailLines?: number;
  since?: number;
  timestamps: boolean;
  replica?: number;
  component?: string;
  previous: boolean;
  prefix?: boolean;
  format: 'text' | 'json';
}

function logQuery(req: Request, now: Date): LogQuery {
  const q = req.query;
  const tailLines = count(q.tailLines, 'tailLines', 0);
  const replica = count(q.replica, 'replica', 1);
  const sinceSeconds = count(q.sinceSeconds, 'sinceSeconds', 1);
  const sinceTime = queryString(q.sinceTime);
  if (sinceSeconds !== undefined && sinceTime !== undefined) throw new HoldfastError('BadRequest', 'give sinceSeconds or sinceTime, not both');
  let since: number | undefined;
  if (sinceSeconds !== undefined) since = Math.floor(now.getTime() / 1000) - sinceSeconds;
  if (sinceTime !== undefined) {
    const time = Date.parse(sinceTime);
    if (!/^\d{4}-\d\d-\d\dT/.test(sinceTime) || Number.isNaN(time)) throw new HoldfastError('BadRequest', `sinceTime must be an RFC 3339 time such as 2026-12-04T10:00:00Z, got "${sinceTime}"`);
    since = Math.floor(time / 1000);
  }
  const format = queryString(q.format) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new HoldfastError('BadRequest', `format must be text or json, got "${format}"`);
  return {
    follow: queryFlag(q.follow, 'follow') ?? false,
    tailLines,
    since,
    timestamps: queryFlag(q.timestamps, 'timestamps') ?? false,
    replica,
    component: queryString(q.container),
    previous: queryFlag(q.previous, 'previous') ?? false,
    prefix: queryFlag(q.prefix, 'prefix'),
    format,
  };
}

function count(value: unknown, name: string, min: number): number | undefined {
  const text = queryString(value);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new HoldfastError('BadRequest', `${name} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got "${text}"`);
  }
  return Number(text);
}
