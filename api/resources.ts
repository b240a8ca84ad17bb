// The resource REST endpoints, in Kubernetes' shape:
//   /apis/holdfast.dev/v1alpha1/[namespaces/{ns}/]{plural}[/{name}[/status]]
// get, list, watch, create, replace, patch (merge and JSON patch), delete; ?dryRun=All on writes.
import { Router, type Request, type Response } from 'express';
import fastJsonPatch from 'fast-json-patch';
import { HoldfastError } from '../core/errors.js';
import { GROUP, kindByPlural, VERSION, type KindInfo, type Resource } from '../core/resource.js';
import { parseFieldSelector, parseLabelSelector } from '../core/selectors.js';
import { validateStatus } from '../core/schema/validate.js';
import type { ResourceStore, WriteContext } from '../store/resource-store.js';
import { present, type Admission } from './admission.js';
import { actorOf, requireScope } from './auth.js';
import { resourceScope } from './scopes.js';
import { successStatus } from './status.js';
import { toTable, wantsTable } from './table.js';
import { serveWatch } from './watch.js';

export interface ResourceRoutesDeps {
  store: ResourceStore;
  admission: Admission;
  /** Extra read-only subresources per kind (e.g. Service `views`), added by later parts. */
  subresources?: Record<string, Record<string, (req: Request, res: Response, obj: Resource) => Promise<void>>>;
}

const BASE = `/apis/${GROUP}/${VERSION}`;
const MAX_LIST_LIMIT = 500;
/** A patch without a resourceVersion is re-applied up to this often when writes race it (each race has a winner). */
const PATCH_CONFLICT_ATTEMPTS = 16;

export function resourceRouter(deps: ResourceRoutesDeps): Router {
  const r = Router();
  const { store, admission } = deps;

  const collection = async (req: Request, res: Response) => {
    const { info, namespace } = target(req);
    if (req.method === 'GET') {
      requireScope(req, resourceScope(info.kind, 'read'), `list ${info.plural}`);
      if (isTrue(req.query.watch)) return serveWatch(req, res, store, { info, namespace });
      return list(req, res, info, namespace);
    }
    if (req.method === 'POST') {
      const dryRun = dryRunOf(req);
      requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `create ${info.plural}`);
      const ctx = writeContext(req, 'create');
      const name = (req.body as Resource | undefined)?.metadata?.name ?? '';
      const created = await audited(store, ctx, info, namespace, name, async () => {
        const admitted = await admission.admit(req.body, { info, namespace });
        if (admitted.status) admitted.object.status = admitted.status;
        return store.create(admitted.object, ctx, admitted.sealed);
      });
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
        const obj = present(await store.mustGet(info.kind, namespace, name));
        res.json(wantsTable(req) ? toTable(info.kind, [obj], { resourceVersion: obj.metadata.resourceVersion }) : obj);
        return;
      }
      case 'PUT': {
        requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `update ${info.plural}`);
        const ctx = writeContext(req, 'update');
        const updated = await audited(store, ctx, info, namespace, name, async () => {
          const current = await store.mustGet(info.kind, namespace, name);
          return replaceWith(req.body, current);
        });
        res.json(present(updated));
        return;
      }
      case 'PATCH': {
        requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `patch ${info.plural}`);
        const ctx = writeContext(req, 'patch');
        const updated = await audited(store, ctx, info, namespace, name, async () => {
          for (let attempt = 1; ; attempt++) {
            const current = await store.mustGet(info.kind, namespace, name);
            const patched = applyPatch(req, present(current));
            // A patch applies to what it read: the resourceVersion it was applied to is pinned, so a
            // concurrent write (a controller's) is never lost. A patch that names no resourceVersion
            // itself is then applied again to the new version, as the Kubernetes API server does; one
            // that names one gets the conflict.
            const pinned = namesResourceVersion(req.body);
            patched.metadata ??= { name };
            patched.metadata.resourceVersion ??= current.metadata.resourceVersion;
            try {
              return await replaceWith(patched, current);
            } catch (err) {
              const conflict = err instanceof HoldfastError && err.reason === 'Conflict';
              if (!conflict || pinned || attempt >= PATCH_CONFLICT_ATTEMPTS) throw err;
              // A few milliseconds of jitter, so writers that lost together do not collide again.
              await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
            }
          }
        });
        res.json(present(updated));
        return;
      }
      case 'DELETE': {
        requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `delete ${info.plural}`);
        const ctx = writeContext(req, 'delete');
        const preconditions = (req.body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions ?? {};
        const { object, gone } = await audited(store, ctx, info, namespace, name, () =>
          store.delete(info.kind, namespace, name, ctx, preconditions),
        );
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
      const admitted = await admission.admit(body, { info, namespace, name, mergeWriteOnly: req.method === 'PATCH' }, current);
      const incomingRv = (body as Resource | undefined)?.metadata?.resourceVersion;
      admitted.object.metadata.resourceVersion = incomingRv;
      return store.replace(admitted.object, ctx, admitted.sealed, { status: admitted.status });
    }
  };

  const statusItem = async (req: Request, res: Response) => {
    const { info, namespace } = target(req);
    const name = String(req.params.name);
    if (!info.hasSpec) throw new HoldfastError('NotFound', `${info.plural} have no status subresource`);
    if (req.method === 'GET') {
      requireScope(req, resourceScope(info.kind, 'read'), `get ${info.plural}/status`);
      res.json(present(await store.mustGet(info.kind, namespace, name)));
      return;
    }
    if (req.method !== 'PUT' && req.method !== 'PATCH') throw methodNotAllowed(req);
    const dryRun = dryRunOf(req);
    requireScope(req, resourceScope(info.kind, dryRun ? 'plan' : 'write'), `update ${info.plural}/status`);
    const ctx = writeContext(req, req.method === 'PUT' ? 'update-status' : 'patch-status');
    const updated = await audited(store, ctx, info, namespace, name, async () => {
      const current = await store.mustGet(info.kind, namespace, name);
      const next = req.method === 'PUT' ? (req.body as Resource) : applyPatch(req, current);
      if (!next || typeof next !== 'object') throw new HoldfastError('BadRequest', 'the request body must be a JSON object');
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
      const err = fastJsonPatch.validate(body as fastJsonPatch.Operation[], current);
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

function dryRunOf(req: Request): boolean {
  const v = req.query.dryRun;
  if (v === undefined) return false;
  if (v === 'All') return true;
  throw new HoldfastError('BadRequest', `unsupported dryRun value "${String(v)}": use dryRun=All`);
}

const isTrue = (v: unknown) => v === 'true' || v === '1';
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const methodNotAllowed = (req: Request) => new HoldfastError('MethodNotAllowed', `${req.method} is not supported on ${req.path}`);
