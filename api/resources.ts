// The resource REST endpoints, in Kubernetes' shape:
//   /apis/holdfast.dev/v1alpha1/[namespaces/{ns}/]{plural}[/{name}[/status]]
// get, list, watch, create, replace, patch (merge and JSON patch), delete; ?dryRun=All on writes.
import { Router, type Request, type Response } from 'express';
import fastJsonPatch from 'fast-json-patch';
import { fullJitterDelay } from '../core/backoff.js';
import { HoldfastError } from '../core/errors.js';
import { manifestForCreate, mergeManifestOntoLive } from '../core/apply-merge.js';
import { GROUP, kindByPlural, VERSION, type KindInfo, type Resource } from '../core/resource.js';
import { parseFieldSelector, parseLabelSelector } from '../core/selectors.js';
import { validateStatus } from '../core/schema/validate.js';
import type { ResourceStore, WriteContext } from '../store/resource-store.js';
import { present, type Admission } from '../controllers/admission.js';
import { actorOf, requireScope } from './auth.js';
import { deleteOptionsOf, guardDelete } from './delete-guard.js';
import { allows, resourceScope } from '../security/scopes.js';
import { successStatus } from './status.js';
import { toTable, wantsTable } from './table.js';
import { serveWatch } from './watch.js';
import { queryFlag } from './list-paging.js';
import { APPLY_PATCH_TYPE } from './request-body.js';

export interface ResourceRoutesDeps {
  store: ResourceStore;
  admission: Admission;
  /** Extra read-only subresources per kind (e.g. Service `views`), added by later parts. */
  subresources?: Record<string, Record<string, (req: Request, res: Response, obj: Resource) => Promise<void>>>;
}

const BASE = `/apis/${GROUP}/${VERSION}`;
const MAX_LIST_LIMIT = 500;
/**
 * A patch without a resourceVersion is re-applied while writes race it (each race has a winner),
 * with full-jitter backoff, for up to this long, as the Kubernetes API server retries them.
 */
const PATCH_RETRY_DEADLINE_MS = 30_000;
const PATCH_RETRY_BACKOFF = { baseMs: 5, capMs: 250 };

export function resourceRouter(deps: ResourceRoutesDeps): Router {
  const r = Router();
  const { store, admission } = deps;
  // Patches of one object through this server wait for each other instead of racing: only
  // writers elsewhere (controllers, other servers) can still make one start over.
  const patchQueue = new KeyedQueue();

  /** Admits `body` as a new object and stores it (a POST, or an apply of what does not exist yet). */
  const createAdmitted = async (req: Request, res: Response, info: KindInfo, namespace: string | undefined, body: unknown): Promise<Resource> => {
    const admitted = await admission.admit(body, { info, namespace, dryRun: dryRunOf(req), compareWriteOnly: mayWrite(req, info) });
    if (admitted.status) admitted.object.status = admitted.status;
    const stored = await store.create(admitted.object, writeContext(req, 'create'), admitted.sealed);
    sendWarnings(res, admitted.warnings);
    return stored;
  };

  const collection = async (req: Request, res: Response) => {
    const { info, namespace } = target(req);
    if (req.method === 'GET') {
      requireScope(req, resourceScope(info.kind, 'read'), `list ${info.plural}`);
      if (queryFlag(req.query.watch, 'watch')) return serveWatch(req, res, store, { info, namespace });
      return list(req, res, info, namespace);
    }
    if (req.method === 'POST') {
      const dryRun = dryRunOf(req);
      requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `create ${info.plural}`);
      const ctx = writeContext(req, 'create');
      // Only a name that is text is recorded; admission refuses any other with a clear message.
      const given: unknown = (req.body as Resource | undefined)?.metadata?.name;
      const name = typeof given === 'string' ? given : '';
      const created = await audited(store, ctx, info, namespace, name, () => createAdmitted(req, res, info, namespace, req.body));
      res.status(201).json(present(created));
      return;
    }
    throw methodNotAllowed(req);
  };

  const item = async (req: Request, res: Response) => {
    const { info, namespace } = target(req);
    const name = String(req.params.name);
    const dryRun = dryRunOf(req);
    switch (req.method) {
      case 'GET': {
        requireScope(req, resourceScope(info.kind, 'read'), `get ${info.plural}`);
        checkPathName(name);
        const obj = present(await store.mustGet(info.kind, namespace, name));
        res.json(wantsTable(req) ? toTable(info.kind, [obj], { resourceVersion: obj.metadata.resourceVersion }) : obj);
        return;
      }
      case 'PUT': {
        requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `update ${info.plural}`);
        const ctx = writeContext(req, 'update');
        const updated = await audited(store, ctx, info, namespace, name, async () => {
          checkPathName(name);
          const current = await store.mustGet(info.kind, namespace, name);
          return replaceWith(req.body, current);
        });
        res.json(present(updated));
        return;
      }
      case 'PATCH': {
        requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `patch ${info.plural}`);
        // req.is answers null for a request with no body: only a body of the apply type is an apply.
        const serverSideApply = typeof req.is(APPLY_PATCH_TYPE) === 'string';
        const ctx = writeContext(req, serverSideApply ? 'apply' : 'patch');
        let created = false;
        const updated = await audited(store, ctx, info, namespace, name, () => patchQueue.run(`${info.kind}/${namespace ?? ''}/${name}`, async () => {
          checkPathName(name);
          if (serverSideApply) checkAppliedObject(req.body, info, namespace, name);
          const deadline = Date.now() + PATCH_RETRY_DEADLINE_MS;
          for (let attempt = 0; ; attempt++) {
            const current = serverSideApply ? await store.get(info.kind, namespace, name) : await store.mustGet(info.kind, namespace, name);
            if (!current) {
              // An apply creates what does not exist yet, as the Kubernetes API server does.
              created = true;
              return createAdmitted(req, res, info, namespace, manifestForCreate(req.body as Resource, info));
            }
            const patched = serverSideApply ? mergeManifestOntoLive(present(current), req.body as Resource, info) : applyPatch(req, present(current));
            // A patch applies to what it read: the resourceVersion it was applied to is pinned, so a
            // concurrent write (a controller's) is never lost. A patch that names no resourceVersion
            // itself is then applied again to the new version, as the Kubernetes API server does; one
            // that names one gets the conflict.
            const pinned = namesResourceVersion(req.body);
            if (serverSideApply && pinned) patched.metadata.resourceVersion = (req.body as Resource).metadata.resourceVersion;
            patched.metadata ??= { name };
            patched.metadata.resourceVersion ??= current.metadata.resourceVersion;
            try {
              return await replaceWith(patched, current);
            } catch (err) {
              const conflict = err instanceof HoldfastError && err.reason === 'Conflict';
              if (!conflict || pinned || Date.now() >= deadline) throw err;
              // Jitter, so writers that lost together do not collide again.
              await new Promise((resolve) => setTimeout(resolve, fullJitterDelay(attempt, PATCH_RETRY_BACKOFF)));
            }
          }
        }));
        res.status(created ? 201 : 200).json(present(updated));
        return;
      }
      case 'DELETE': {
        requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `delete ${info.plural}`);
        const ctx = writeContext(req, 'delete');
        const options = deleteOptionsOf(req.body);
        const { object, gone } = await audited(store, ctx, info, namespace, name, async () => {
          checkPathName(name);
          const rv = options.preconditions?.resourceVersion;
          if (rv !== undefined) checkResourceVersion(rv, 'preconditions.resourceVersion');
          await guardDelete(store, info, namespace, name, options);
          return store.delete(info.kind, namespace, name, ctx, options.preconditions ?? {});
        });
        if (gone) res.json(successStatus(`${info.plural}.${GROUP} "${name}" deleted`, { name, kind: info.plural, group: GROUP }));
        else res.status(202).json(present(object));
        return;
      }
      default:
        throw methodNotAllowed(req);
    }

    async function replaceWith(body: unknown, current: Resource): Promise<Resource> {
      const ctx = writeContext(req, req.method === 'PATCH' ? 'patch' : 'update');
      // A PATCH merges write-only values into the stored ones (as a Kubernetes Secret patch does); a PUT replaces them.
      const admitted = await admission.admit(body, { info, namespace, name, mergeWriteOnly: req.method === 'PATCH', dryRun, compareWriteOnly: mayWrite(req, info) }, current);
      const incomingRv = (body as Resource | undefined)?.metadata?.resourceVersion;
      if (incomingRv !== undefined) checkResourceVersion(incomingRv, 'metadata.resourceVersion');
      admitted.object.metadata.resourceVersion = incomingRv;
      const stored = await store.replace(admitted.object, ctx, admitted.sealed, { status: admitted.status });
      sendWarnings(res, admitted.warnings);
      return stored;
    }
  };

  const statusItem = async (req: Request, res: Response) => {
    const { info, namespace } = target(req);
    const name = String(req.params.name);
    if (!info.hasSpec) throw new HoldfastError('NotFound', `${info.plural} have no status subresource`);
    if (req.method === 'GET') {
      requireScope(req, resourceScope(info.kind, 'read'), `get ${info.plural}/status`);
      checkPathName(name);
      res.json(present(await store.mustGet(info.kind, namespace, name)));
      return;
    }
    if (req.method !== 'PUT' && req.method !== 'PATCH') throw methodNotAllowed(req);
    const dryRun = dryRunOf(req);
    requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `update ${info.plural}/status`);
    const ctx = writeContext(req, req.method === 'PUT' ? 'update-status' : 'patch-status');
    const updated = await audited(store, ctx, info, namespace, name, async () => {
      checkPathName(name);
      const current = await store.mustGet(info.kind, namespace, name);
      const next = req.method === 'PUT' ? (req.body as Resource) : applyPatch(req, current);
      if (!next || typeof next !== 'object') throw new HoldfastError('BadRequest', 'the request body must be a JSON object');
      if (next.metadata?.resourceVersion !== undefined) checkResourceVersion(next.metadata.resourceVersion, 'metadata.resourceVersion');
      const { status } = validateStatus(info.kind, next.status ?? {});
      return store.replaceStatus(
        { ...current, metadata: { ...current.metadata, resourceVersion: next.metadata?.resourceVersion }, status },
        ctx,
      );
    });
    res.json(present(updated));
  };

  const subresource = async (req: Request, res: Response) => {
    const { info, namespace } = target(req);
    const handler = deps.subresources?.[info.kind]?.[String(req.params.sub)];
    if (!handler) throw new HoldfastError('NotFound', `the server could not find the requested resource (${info.plural}/${req.params.sub})`);
    if (req.method !== 'GET') throw methodNotAllowed(req);
    requireScope(req, resourceScope(info.kind, 'read'), `get ${info.plural}/${req.params.sub}`);
    checkPathName(String(req.params.name));
    await handler(req, res, await store.mustGet(info.kind, namespace, String(req.params.name)));
  };

  async function list(req: Request, res: Response, info: KindInfo, namespace: string | undefined) {
    const limit = req.query.limit ? Number(req.query.limit) : undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new HoldfastError('BadRequest', 'limit must be a non-negative integer');
    const result = await store.list(info.kind, {
      namespace,
      labelSelector: parseLabelSelector(str(req.query.labelSelector)),
      fieldSelector: parseFieldSelector(str(req.query.fieldSelector)),
      limit: limit ? Math.min(limit, MAX_LIST_LIMIT) : undefined,
      continue: str(req.query.continue),
    });
    const metadata = { resourceVersion: result.resourceVersion, ...(result.continue ? { continue: result.continue } : {}) };
    const items = result.items.map(present);
    if (wantsTable(req)) {
      res.json(toTable(info.kind, items, metadata));
      return;
    }
    res.json({ apiVersion: `${GROUP}/${VERSION}`, kind: `${info.kind}List`, metadata, items });
  }

  r.all(`${BASE}/:plural`, collection);
  r.all(`${BASE}/namespaces/:namespace/:plural`, collection);
  r.all(`${BASE}/:plural/:name`, item);
  r.all(`${BASE}/namespaces/:namespace/:plural/:name`, item);
  r.all(`${BASE}/:plural/:name/status`, statusItem);
  r.all(`${BASE}/namespaces/:namespace/:plural/:name/status`, statusItem);
  r.all(`${BASE}/:plural/:name/:sub`, subresource);
  r.all(`${BASE}/namespaces/:namespace/:plural/:name/:sub`, subresource);
  return r;
}

function target(req: Request): { info: KindInfo; namespace?: string } {
  const info = kindByPlural(String(req.params.plural));
  if (!info) throw new HoldfastError('NotFound', `the server could not find the requested resource: unknown resource "${req.params.plural}" in ${GROUP}/${VERSION}`);
  const namespace = req.params.namespace ? String(req.params.namespace) : undefined;
  if (namespace?.includes('\u0000')) throw new HoldfastError('BadRequest', 'the namespace in the path must not contain a NUL character');
  if (namespace !== undefined && !info.namespaced) throw new HoldfastError('NotFound', `${info.plural} are cluster-scoped: drop /namespaces/${namespace} from the path`);
  const isCollectionGet = req.method === 'GET' && !req.params.name;
  if (info.namespaced && namespace === undefined && !isCollectionGet) {
    throw new HoldfastError('BadRequest', `${info.plural} are namespaced: use ${BASE}/namespaces/{project}/${info.plural}`);
  }
  return { info, namespace };
}

function applyPatch(req: Request, current: Resource): Resource {
  const type = (req.get('content-type') ?? '').split(';')[0].trim();
  const body = req.body as unknown;
  switch (type) {
    case 'application/merge-patch+json':
    // kubectl sends strategic merge patches only for built-in kinds; for ours it is a merge patch.
    case 'application/strategic-merge-patch+json':
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HoldfastError('BadRequest', 'a merge patch must be a JSON object');
      return mergePatch(structuredClone(current), body) as Resource;
    case 'application/json-patch+json': {
      if (!Array.isArray(body)) throw new HoldfastError('BadRequest', 'a JSON patch must be an array of operations');
      let err: Error | undefined;
      try {
        err = fastJsonPatch.validate(body as fastJsonPatch.Operation[], current);
      } catch (e) {
        // fast-json-patch throws (rather than returns) for paths through __proto__ or constructor.
        err = e as Error;
      }
      if (err) throw new HoldfastError('BadRequest', `invalid JSON patch: ${err.message.split('\n')[0]}`);
      try {
        return fastJsonPatch.applyPatch(structuredClone(current), body as fastJsonPatch.Operation[], false, false).newDocument;
      } catch (e) {
        throw new HoldfastError('BadRequest', `JSON patch failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    default:
      throw new HoldfastError('UnsupportedMediaType', `unsupported patch type "${type}": use application/merge-patch+json or application/json-patch+json`);
  }
}

/**
 * A server-side apply patch declares the whole object at the path it is sent to. Holdfast keeps no
 * managed fields: the applied object owns spec, labels and annotations, as with `holdfast apply`.
 */
function checkAppliedObject(body: unknown, info: KindInfo, namespace: string | undefined, name: string) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HoldfastError('BadRequest', 'an apply patch must declare an object');
  const obj = body as Partial<Resource>;
  if (obj.kind !== info.kind) throw new HoldfastError('BadRequest', `the apply patch declares kind ${JSON.stringify(obj.kind)}, not ${info.kind} as its path says`);
  if (obj.metadata?.name !== name) throw new HoldfastError('BadRequest', `the apply patch declares metadata.name ${JSON.stringify(obj.metadata?.name)}, not "${name}" as its path says`);
  if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
    throw new HoldfastError('BadRequest', `the apply patch declares metadata.namespace ${JSON.stringify(obj.metadata.namespace)}, not ${JSON.stringify(namespace)} as its path says`);
  }
}

/** Runs tasks with the same key one after another, tasks with different keys side by side. */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** A name from the path that no object can have and the store cannot look up. */
function checkPathName(name: string) {
  if (name.includes('\u0000')) throw new HoldfastError('BadRequest', 'the name in the path must not contain a NUL character');
}

/** resourceVersions are decimal numbers: anything else is a malformed request, not a conflict. */
export function checkResourceVersion(value: unknown, field: string) {
  if (value === null) return;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw new HoldfastError('BadRequest', `${field}: invalid resourceVersion ${JSON.stringify(value)}: it must be the resourceVersion of an object read from this server`, {
      causes: [{ field, message: 'must be a decimal number', reason: 'FieldValueInvalid' }],
    });
  }
}

/** Whether a patch body sets or tests metadata.resourceVersion itself (a precondition of the client's). */
function namesResourceVersion(body: unknown): boolean {
  if (Array.isArray(body)) return body.some((op) => (op as { path?: unknown })?.path === '/metadata/resourceVersion');
  const metadata = (body as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata;
  return metadata?.resourceVersion !== undefined && metadata.resourceVersion !== null;
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Runs a write; a failure that happened before the store could audit it is audited here. */
async function audited<T>(store: ResourceStore, ctx: WriteContext, info: KindInfo, namespace: string | undefined, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof HoldfastError ? `${err.reason}: ${err.message}` : 'InternalError';
    await store.auditFailure(ctx, ctx.verb ?? 'write', info.kind, namespace, name || '(unnamed)', message);
    throw err;
  }
}

function writeContext(req: Request, verb: string): WriteContext {
  return { ...actorOf(req), dryRun: dryRunOf(req), verb };
}

/** Whether the caller may write the kind: only then may a dry run compare write-only values it names with the stored ones. */
export const mayWrite = (req: Request, info: KindInfo) => Boolean(req.identity && allows(req.identity.scopes, resourceScope(info.kind, 'write')));

export function dryRunOf(req: Request): boolean {
  const v = req.query.dryRun;
  if (v === undefined) return false;
  if (v === 'All') return true;
  throw new HoldfastError('BadRequest', `unsupported dryRun value "${String(v)}": use dryRun=All`);
}

/** Kubernetes warnings: `Warning: 299 - "text"`, which kubectl and the CLI print as `Warning: text`. */
export function sendWarnings(res: Response, warnings: string[] | undefined) {
  if (!warnings?.length) return;
  res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w.replace(/[^\x20-\x7e]/g, '?'))}`));
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const methodNotAllowed = (req: Request) => new HoldfastError('MethodNotAllowed', `${req.method} is not supported on ${req.path}`);
