// Server cleanup with a preview (controllers/servers/server-cleanup.ts):
//   GET  …/servers/{name}/cleanup?all=true&keepDeployments=N&project=P   the preview (server:plan or server:cleanup)
//   POST …/servers/{name}/cleanup {items: [ids from the preview], all, keepDeployments, project}   (server:cleanup)
// The run plans again and removes only what is in both the preview and the new plan; it writes one
// audit row and one event on the Server with what went, what failed and what was not previewed.
import { Router, type Request } from 'express';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import type { EventRecorder } from '../controllers/events.js';
import { DEFAULT_KEEP_DEPLOYMENTS, describeCleanupRun, type CleanupOptions, type ServerCleanup } from '../controllers/servers/server-cleanup.js';
import type { Redactor } from '../security/redactor.js';
import { writeAudit } from '../store/audit.js';
import type { ResourceStore } from '../store/resource-store.js';
import { actorOf } from './auth.js';
import { queryFlag, queryString } from './list-paging.js';
import { API_BASE } from './scopes.js';

export const SERVER_CLEANUP_PATH = `${API_BASE}/servers/:name/cleanup`;

const MAX_ITEMS = 100_000;
const MAX_KEEP_DEPLOYMENTS = 1000;

export interface ServerCleanupRoutesDeps {
  store: ResourceStore;
  redactor: Redactor;
  /** Without it (no controllers in this process) the routes answer 503. */
  cleanup?: ServerCleanup;
  events?: EventRecorder;
}

export function serverCleanupRouter(deps: ServerCleanupRoutesDeps): Router {
  const r = Router();
  const cleanup = () => {
    if (!deps.cleanup) throw new HoldfastError('ServiceUnavailable', 'server cleanup needs the controllers, which do not run in this process');
    return deps.cleanup;
  };

  r.get(SERVER_CLEANUP_PATH, async (req, res) => {
    const options = cleanupOptions(queryFlag(req.query.all, 'all'), queryString(req.query.keepDeployments), queryString(req.query.project));
    const server = await deps.store.mustGet('Server', undefined, String(req.params.name));
    const plan = await cleanup().preview(server, options);
    res.json({ apiVersion: API_VERSION, kind: 'CleanupPlan', server: server.metadata.name, ...options, ...plan });
  });

  r.post(SERVER_CLEANUP_PATH, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const items = previewItems(body.items);
    const options = cleanupOptions(
      queryFlag(body.all, 'all'),
      body.keepDeployments === undefined ? undefined : String(body.keepDeployments),
      body.project === undefined ? undefined : String(body.project),
    );
    const server = await deps.store.mustGet('Server', undefined, String(req.params.name));
    const result = await cleanup().run(server, options, items);
    const message = deps.redactor.redactText(describeCleanupRun(result, options));
    await writeAudit(
      deps.store.db,
      { ...actorOf(req), verb: 'cleanup', kind: 'Server', name: server.metadata.name, outcome: result.failed.length ? 'Failure' : 'Success', message },
      new Date(),
    );
    await deps.events?.record(server, result.failed.length ? 'Warning' : 'Normal', 'Cleanup', `${actorName(req)}: ${message}`).catch(() => undefined);
    res.json({ apiVersion: API_VERSION, kind: 'CleanupResult', server: server.metadata.name, ...options, ...result });
  });

  return r;
}

function cleanupOptions(all: boolean | undefined, keep: string | undefined, project: string | undefined): CleanupOptions {
  if (project !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(project)) throw new HoldfastError('BadRequest', `project must be a project name (a DNS-1123 label), got "${project}"`);
  if (keep !== undefined && (!/^\d+$/.test(keep) || Number(keep) < 1 || Number(keep) > MAX_KEEP_DEPLOYMENTS)) {
    throw new HoldfastError('BadRequest', `keepDeployments must be a whole number from 1 to ${MAX_KEEP_DEPLOYMENTS}, got "${keep}"`);
  }
  return { all: all ?? false, keepDeployments: keep === undefined ? DEFAULT_KEEP_DEPLOYMENTS : Number(keep), ...(project ? { project } : {}) };
}

function previewItems(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 256)) {
    throw new HoldfastError('BadRequest', 'items must list the ids of the preview to remove (GET …/cleanup answers them), e.g. {"items": ["sha256:…"]}', {
      causes: [{ field: 'items', message: 'a list of object ids', reason: 'FieldValueInvalid' }],
    });
  }
  if (value.length > MAX_ITEMS) throw new HoldfastError('BadRequest', `items lists at most ${MAX_ITEMS} ids`);
  return value as string[];
}

function actorName(req: Request): string {
  return actorOf(req).actor;
}
