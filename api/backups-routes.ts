// Backup actions over HTTP: take one now, and restore one. Guarded by backup:run and backup:restore
// in the route table (api/scopes.ts); each action writes one audit row. The kept backups themselves
// are listed in the policy's status (GET the BackupPolicy).
//   POST …/namespaces/{ns}/backuppolicies/{name}/run        take a backup now, whatever the schedule
//   POST …/namespaces/{ns}/backuppolicies/{name}/restore    {"backup": "<name>", "destination": "<name>",
//                                                             "service": "<name>", "database": "<name>"}
//        destination optional: the first that holds it; service and database optional, for a database
//        backup: another Service of the project and another database name to restore into
import { Router } from 'express';
import { restoredInto, type BackupActions } from '../controllers/backups/backup-controller.js';
import type { RestoreOptions } from '../controllers/backups/backup-runner.js';
import { DATABASE_NAME } from '../core/backup/database-commands.js';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION, DNS1123_LABEL } from '../core/resource.js';
import type { ResourceStore, WriteContext } from '../store/resource-store.js';
import { actorOf, requireScope } from './auth.js';
import { API_BASE } from './scopes.js';

export const BACKUP_RUN_PATH = `${API_BASE}/namespaces/:namespace/backuppolicies/:name/run`;
export const BACKUP_RESTORE_PATH = `${API_BASE}/namespaces/:namespace/backuppolicies/:name/restore`;

export interface BackupRoutesDeps {
  store: ResourceStore;
  /** The backup controller; undefined when none runs in this process (actions then answer 503). */
  actions?: BackupActions;
}

export function backupRouter(deps: BackupRoutesDeps): Router {
  const r = Router();
  const { store } = deps;

  r.post(BACKUP_RUN_PATH, async (req, res) => {
    requireScope(req, ['backup:run'], 'run backups');
    const ctx: WriteContext = actorOf(req);
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    const result = await audited(store, ctx, { verb: 'backup', namespace, name }, async () => {
      noFields(req.body, [], 'run', '{}');
      const policy = await store.mustGet('BackupPolicy', namespace, name);
      const done = await requireActions(deps).run(policy, ctx.actor);
      const failed = done.copies.filter((c) => c.result === 'Failed').map((c) => c.destination);
      return { value: done, message: `backup ${done.backup.name} (${done.backup.sizeBytes} bytes) at ${done.location}${failed.length ? `; copies failed: ${failed.join(', ')}` : ''}` };
    });
    res.status(201).json({ apiVersion: API_VERSION, kind: 'BackupRun', ...result });
  });

  r.post(BACKUP_RESTORE_PATH, async (req, res) => {
    requireScope(req, ['backup:restore'], 'restore backups');
    const ctx: WriteContext = actorOf(req);
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    const result = await audited(store, ctx, { verb: 'restore', namespace, name }, async () => {
      const { backup, options } = restoreTarget(req.body);
      const policy = await store.mustGet('BackupPolicy', namespace, name);
      const done = await requireActions(deps).restore(policy, backup, ctx.actor, options);
      return { value: done, message: `backup ${done.backup} restored into ${restoredInto(done)}` };
    });
    res.json({ apiVersion: API_VERSION, kind: 'BackupRestore', ...result });
  });

  return r;
}

function noFields(body: unknown, allowed: string[], verb: string, example: string): void {
  if (body === undefined || body === null) return;
  if (typeof body !== 'object' || Array.isArray(body)) throw new HoldfastError('BadRequest', `the ${verb} request body must be a JSON object such as ${example}`);
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  const listed = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} and ${allowed.at(-1)}` : allowed[0];
  if (unknown.length) throw new HoldfastError('BadRequest', `unknown field "${unknown[0]}" in the ${verb} request${allowed.length ? `: only ${listed} ${allowed.length === 1 ? 'is' : 'are'} accepted` : ': it takes no fields'}`);
}

function restoreTarget(body: unknown): { backup: string; options: RestoreOptions } {
  noFields(body, ['backup', 'destination', 'service', 'database'], 'restore', '{"backup": "web-data-20261126T130512Z.tar"}');
  const backup = (body as { backup?: unknown } | undefined)?.backup;
  if (typeof backup !== 'string' || backup === '') {
    throw new HoldfastError('BadRequest', 'the restore request needs "backup": the name of a backup of this policy (see holdfast backup list)');
  }
  if (backup.length > 255 || backup.includes('/') || backup.includes('\0')) throw new HoldfastError('BadRequest', `"backup" must be a backup's file name, not a path`);
  const destination = (body as { destination?: unknown }).destination;
  if (destination !== undefined && (typeof destination !== 'string' || !DNS1123_LABEL.test(destination))) {
    throw new HoldfastError('BadRequest', '"destination" must be the name of one of the policy\'s spec.destinations');
  }
  const service = (body as { service?: unknown }).service;
  if (service !== undefined && (typeof service !== 'string' || !DNS1123_LABEL.test(service))) {
    throw new HoldfastError('BadRequest', '"service" must be the name of a Service of the policy\'s project');
  }
  const database = (body as { database?: unknown }).database;
  if (database !== undefined && (typeof database !== 'string' || !DATABASE_NAME.test(database))) {
    throw new HoldfastError('BadRequest', '"database" must be a database name of letters, digits, _ and - (not starting with -), at most 63 characters');
  }
  return {
    backup,
    options: { ...(destination !== undefined ? { from: destination as string } : {}), ...(service !== undefined ? { service } : {}), ...(database !== undefined ? { database } : {}) },
  };
}

function requireActions(deps: BackupRoutesDeps): BackupActions {
  if (!deps.actions) throw new HoldfastError('ServiceUnavailable', 'the backup controller is not running in this control plane: backups cannot be taken or restored');
  return deps.actions;
}

/** Runs a backup action and writes its one audit row: success with what it did, or the failure. */
async function audited<T>(
  store: ResourceStore,
  ctx: WriteContext,
  target: { verb: string; namespace: string; name: string },
  action: () => Promise<{ value: T; message: string }>,
): Promise<T> {
  const row = { ...target, kind: 'BackupPolicy' };
  let done: { value: T; message: string };
  try {
    done = await action();
  } catch (err) {
    const message = err instanceof HoldfastError ? `${err.reason}: ${err.message}` : 'InternalError';
    await store.audit(ctx, { ...row, outcome: 'Failure', message });
    throw err;
  }
  await store.audit(ctx, { ...row, outcome: 'Success', message: done.message });
  return done.value;
}
