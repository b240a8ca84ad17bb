// Deployments over HTTP: a Service's rollout history, one deployment record, its log (optionally
// followed while the deployment runs), and the actions sync, rollback and cancel. Guarded by the
// deploy:* scopes in the route table (api/scopes.ts); each action writes one audit row.
//   GET  …/namespaces/{ns}/services/{name}/deployments      newest first, frozen inputs left out
//   POST …/namespaces/{ns}/services/{name}/sync             converge now, once
//   POST …/namespaces/{ns}/services/{name}/rollback         {"toRevision": N} (optional)
//   GET  …/deployments/{id}                                 the whole record, frozen input included
//   GET  …/deployments/{id}/logs[?follow=true][&step=build][&format=json][&after=LINE_ID]
//   POST …/deployments/{id}/cancel
import { Router, type Request, type Response } from 'express';
import type { DeploymentActions } from '../controllers/deployment-actions.js';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import { isTerminal, STEP_NAMES, type DeploymentRecord, type DeploymentStore, type LogLine } from '../store/deployments.js';
import type { ResourceStore, WriteContext } from '../store/resource-store.js';
import { actorOf, requireScope } from './auth.js';
import { pageLimit, queryFlag } from './list-paging.js';
import { API_BASE } from './scopes.js';

export const SERVICE_DEPLOYMENTS_PATH = `${API_BASE}/namespaces/:namespace/services/:name/deployments`;
export const SERVICE_SYNC_PATH = `${API_BASE}/namespaces/:namespace/services/:name/sync`;
export const SERVICE_ROLLBACK_PATH = `${API_BASE}/namespaces/:namespace/services/:name/rollback`;
export const DEPLOYMENT_PATH = `${API_BASE}/deployments/:id`;
export const DEPLOYMENT_LOGS_PATH = `${API_BASE}/deployments/:id/logs`;
export const DEPLOYMENT_CANCEL_PATH = `${API_BASE}/deployments/:id/cancel`;

const DEFAULT_HISTORY = 50;
/** Log lines read from the store per query. */
const LOG_PAGE = 2000;
/** A followed log re-reads the store this often even without a change notice (another replica may write it). */
const FOLLOW_POLL_MS = 2000;
/** A follow ends this long after the deployment's own deadline, even if no controller ever ended it. */
const FOLLOW_GRACE_MS = 5 * 60_000;

export interface DeploymentRoutesDeps {
  store: ResourceStore;
  deployments: DeploymentStore;
  /** The service controller; undefined when none runs in this process (actions then answer 503). */
  actions?: DeploymentActions;
  clock?: () => Date;
  followPollMs?: number;
}

/** A record as lists show it: everything but the frozen input, which can be large. */
export function deploymentSummary(record: DeploymentRecord): Omit<DeploymentRecord, 'frozen'> & { apiVersion: string; kind: 'Deployment' } {
  const { frozen: _frozen, ...rest } = record;
  return { apiVersion: API_VERSION, kind: 'Deployment', ...rest };
}

export function deploymentObject(record: DeploymentRecord): DeploymentRecord & { apiVersion: string; kind: 'Deployment' } {
  return { apiVersion: API_VERSION, kind: 'Deployment', ...record };
}

/** `build     line`: the step padded so lines of different steps line up. */
export function formatLogLine(line: LogLine): string {
  return `${line.step.padEnd(STEP_WIDTH)}  ${line.line}\n`;
}

const STEP_WIDTH = Math.max(...STEP_NAMES.map((s) => s.length));

export function deploymentRouter(deps: DeploymentRoutesDeps): Router {
  const r = Router();
  const { store, deployments } = deps;
  const clock = deps.clock ?? (() => new Date());
  const pollMs = deps.followPollMs ?? FOLLOW_POLL_MS;

  r.get(SERVICE_DEPLOYMENTS_PATH, async (req, res) => {
    requireScope(req, ['deploy:read'], 'list deployments');
    const service = await store.mustGet('Service', String(req.params.namespace), String(req.params.name));
    const limit = pageLimit(req.query.limit, DEFAULT_HISTORY);
    const records = await deployments.listForService(String(req.params.namespace), String(req.params.name), limit);
    // Revisions count per Service object: a Service deleted and created again under the same name starts over.
    const items = records.filter((d) => d.serviceUid === service.metadata.uid).map(deploymentSummary);
    res.json({ apiVersion: API_VERSION, kind: 'DeploymentList', metadata: {}, items });
  });

  r.get(DEPLOYMENT_PATH, async (req, res) => {
    requireScope(req, ['deploy:read'], 'get deployments');
    res.json(deploymentObject(await mustGetDeployment(deployments, String(req.params.id))));
  });

  r.get(DEPLOYMENT_LOGS_PATH, async (req, res) => {
    requireScope(req, ['deploy:read'], 'get deployment logs');
    const options = logOptions(req);
    const record = await mustGetDeployment(deployments, String(req.params.id));
    await serveLogs(res, deployments, record, options, { clock, pollMs });
  });

  r.post(SERVICE_SYNC_PATH, async (req, res) => {
    requireScope(req, ['deploy:start'], 'sync services');
    const ctx: WriteContext = actorOf(req);
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    const record = await audited(store, ctx, { verb: 'sync', kind: 'Service', namespace, name }, async () => {
      const service = await store.mustGet('Service', namespace, name);
      return requireActions(deps).sync(service, ctx.actor);
    });
    res.status(201).json(deploymentSummary(record));
  });

  r.post(SERVICE_ROLLBACK_PATH, async (req, res) => {
    requireScope(req, ['deploy:rollback'], 'roll back services');
    const ctx: WriteContext = actorOf(req);
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    const record = await audited(store, ctx, { verb: 'rollback', kind: 'Service', namespace, name }, async () => {
      const toRevision = rollbackTarget(req.body);
      const service = await store.mustGet('Service', namespace, name);
      return requireActions(deps).rollback(service, toRevision, ctx.actor);
    });
    res.status(201).json(deploymentSummary(record));
  });

  r.post(DEPLOYMENT_CANCEL_PATH, async (req, res) => {
    requireScope(req, ['deploy:cancel'], 'cancel deployments');
    const ctx: WriteContext = actorOf(req);
    const id = String(req.params.id);
    // The audit row names the deployment's service when the deployment exists.
    const existing = await deployments.get(id);
    const target = { verb: 'cancel', kind: 'Deployment', namespace: existing?.namespace, name: id };
    const record = await audited(store, ctx, target, async () => {
      if (!existing) throw deploymentNotFound(id);
      return requireActions(deps).cancel(id, ctx.actor);
    });
    res.json(deploymentSummary(record));
  });

  return r;
}

interface LogOptions {
  follow: boolean;
  step?: string;
  format: 'text' | 'json';
  /** Only lines after the one with this id (format=json lines carry their id). */
  after: number;
}

function logOptions(req: Request): LogOptions {
  const { follow, step, format, after } = req.query;
  if (step !== undefined && !(STEP_NAMES as readonly string[]).includes(String(step))) {
    throw new HoldfastError('BadRequest', `unknown step "${String(step)}": a deployment's steps are ${STEP_NAMES.join(', ')}`);
  }
  if (format !== undefined && format !== 'text' && format !== 'json') {
    throw new HoldfastError('BadRequest', `invalid format "${String(format)}": use format=text or format=json`);
  }
  if (after !== undefined && !/^\d{1,15}$/.test(String(after))) {
    throw new HoldfastError('BadRequest', `invalid after value "${String(after)}": use the id of a log line (a whole number, as format=json gives)`);
  }
  return {
    follow: queryFlag(follow, 'follow') ?? false,
    step: step === undefined ? undefined : String(step),
    format: format === 'json' ? 'json' : 'text',
    after: after === undefined ? 0 : Number(after),
  };
}

/**
 * Writes the log lines written so far; with follow, keeps writing new ones as they are appended
 * until the deployment ends (then the lines written before its end, then the end of the response),
 * the client goes away, or the deployment is long past its deadline.
 */
async function serveLogs(
  res: Response,
  deployments: DeploymentStore,
  record: DeploymentRecord,
  options: LogOptions,
  timing: { clock: () => Date; pollMs: number },
): Promise<void> {
  const id = record.id;
  res.status(200);
  res.setHeader('Content-Type', options.format === 'json' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const write = (lines: LogLine[]) => {
    const chosen = options.step ? lines.filter((l) => l.step === options.step) : lines;
    if (chosen.length === 0) return;
    res.write(chosen.map((l) => (options.format === 'json' ? JSON.stringify(l) + '\n' : formatLogLine(l))).join(''));
  };

  let lastId = options.after;
  const drain = async () => {
    for (;;) {
      const lines = await deployments.logsSince(id, lastId, LOG_PAGE);
      if (lines.length === 0) return;
      lastId = lines[lines.length - 1].id;
      write(lines);
      if (lines.length < LOG_PAGE) return;
    }
  };

  if (!options.follow || isTerminal(record.phase)) {
    await drain();
    res.end();
    return;
  }

  // Follow: any change to this deployment wakes the loop, which re-reads from the store (so the
  // order and completeness of lines never depends on notices); a timer re-reads regardless.
  res.flushHeaders();
  let wake: (() => void) | undefined;
  // Set by a notice that arrives while the loop is reading, so the loop reads again instead of waiting.
  let changed = false;
  let closed = false;
  const unsubscribe = deployments.subscribe((change) => {
    const about = change.type === 'log' ? change.deploymentId : change.record.id;
    if (about !== id) return;
    changed = true;
    wake?.();
  });
  const onClose = () => {
    closed = true;
    wake?.();
  };
  // The response closes before it ends only when the client went away.
  res.on('close', onClose);
  const endBy = Date.parse(record.deadline) + FOLLOW_GRACE_MS;
  try {
    for (;;) {
      changed = false;
      await drain();
      const current = await deployments.get(id);
      if (!current || isTerminal(current.phase)) {
        // Lines written between the last read and the end.
        await drain();
        break;
      }
      if (closed || timing.clock().getTime() > endBy) break;
      if (changed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timing.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (closed) break;
    }
  } finally {
    unsubscribe();
    res.off('close', onClose);
    if (!res.writableEnded) res.end();
  }
}

function rollbackTarget(body: unknown): number | undefined {
  if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw new HoldfastError('BadRequest', 'the request body must be a JSON object such as {"toRevision": 3}');
  const unknown = Object.keys(body).filter((k) => k !== 'toRevision');
  if (unknown.length) throw new HoldfastError('BadRequest', `unknown field "${unknown[0]}" in the rollback request: only toRevision is accepted`);
  const to = (body as { toRevision?: unknown }).toRevision;
  if (to === undefined || to === null) return undefined;
  if (typeof to !== 'number' || !Number.isInteger(to) || to < 1) {
    throw new HoldfastError('BadRequest', `toRevision must be a revision number (a positive integer), got ${JSON.stringify(to)}`);
  }
  return to;
}

async function mustGetDeployment(deployments: DeploymentStore, id: string): Promise<DeploymentRecord> {
  const record = await deployments.get(id);
  if (!record) throw deploymentNotFound(id);
  return record;
}

function deploymentNotFound(id: string): HoldfastError {
  return new HoldfastError('NotFound', `deployment "${id}" not found`, { details: { kind: 'Deployment', name: id } });
}

function requireActions(deps: DeploymentRoutesDeps): DeploymentActions {
  if (!deps.actions) {
    throw new HoldfastError('ServiceUnavailable', 'the service controller is not running in this control plane: deployments cannot be started or canceled');
  }
  return deps.actions;
}

/** Runs a deployment action and writes its one audit row: success with the deployment it made, or the failure. */
async function audited(
  store: ResourceStore,
  ctx: WriteContext,
  target: { verb: string; kind: string; namespace?: string; name: string },
  action: () => Promise<DeploymentRecord>,
): Promise<DeploymentRecord> {
  let record: DeploymentRecord;
  try {
    record = await action();
  } catch (err) {
    const message = err instanceof HoldfastError ? `${err.reason}: ${err.message}` : 'InternalError';
    await store.audit(ctx, { ...target, outcome: 'Failure', message });
    throw err;
  }
  await store.audit(ctx, {
    ...target,
    namespace: target.namespace ?? record.namespace,
    outcome: 'Success',
    generation: record.generation,
    message: `deployment ${record.id} (revision ${record.revision})`,
  });
  return record;
}
