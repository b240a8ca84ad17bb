// Server-side apply of a set: `POST /apis/holdfast.dev/v1alpha1/apply[?dryRun=All]` with a
// Kubernetes List of manifests. The server does what `holdfast apply` did per object with a GET and
// a dry-run PUT: it lays each manifest over the stored object (the manifest owns spec, labels and
// annotations), applies schema defaults through admission, and answers per object created,
// configured or unchanged with the change as a JSON Patch of its user-owned view. The changed
// objects are stored in one transaction: all or none. An object that names a metadata.resourceVersion
// pins the set to what its client read: if the object moved since, the set fails with 409 naming it.
import { Router, type Request, type Response } from 'express';
import fastJsonPatch from 'fast-json-patch';
import { isUnchanged, manifestForCreate, mergeManifestOntoLive, userOwnedView, writesNothing, type ApplyAction, type AppliedObject } from '../core/apply-merge.js';
import { applyRank } from '../core/apply-order.js';
import { fullJitterDelay } from '../core/backoff.js';
import { conflict, HoldfastError } from '../core/errors.js';
import { API_VERSION, kindInfo, type KindInfo, type Resource } from '../core/resource.js';
import { withSchemaDefaults } from '../core/schema/validate.js';
import type { AuditRecord, ListOptions, ResourceStore, SetWrite, WriteContext } from '../store/resource-store.js';
import { present, type Admission, type AdmissionReader } from '../controllers/admission.js';
import type { Authorizer } from '../security/authorizer.js';
import { actorOf, authorizeAs } from './auth.js';
import { checkResourceVersion, dryRunOf, mayWrite, sendWarnings } from './resources.js';
import { API_BASE } from './scopes.js';

export interface ApplyRoutesDeps {
  store: ResourceStore;
  admission: Admission;
  authorizer: Authorizer;
}

/**
 * Writes that lose a race with another writer (a controller's status write moves resourceVersion)
 * are planned again, as a patch is; a set pinned by its client's resourceVersions is not.
 */
const CONFLICT_ATTEMPTS = 5;
const CONFLICT_BACKOFF = { baseMs: 5, capMs: 250 };

interface SetItem {
  index: number;
  info: KindInfo;
  manifest: Resource;
  namespace?: string;
  name: string;
  /** The resourceVersion the client read, when it names one. */
  pinned?: string;
  label: string;
}

interface Planned {
  item: SetItem;
  action: ApplyAction;
  before?: Resource;
  /** What is written (undefined when unchanged). */
  write?: SetWrite;
}

export function applyRouter(deps: ApplyRoutesDeps): Router {
  const r = Router();
  const { store, admission } = deps;

  r.post(`${API_BASE}/apply`, async (req: Request, res: Response) => {
    const dryRun = dryRunOf(req);
    const items = parseSet(req.body);
    for (const item of items) await authorizeWrite(req, deps.authorizer, item, dryRun);
    const ctx: WriteContext = { ...actorOf(req), dryRun };
    const ordered = [...items].sort((a, b) => applyRank(a.info.kind) - applyRank(b.info.kind) || a.index - b.index);
    for (let attempt = 1; ; attempt++) {
      const warnings: string[] = [];
      const plan = await planSet(ordered, { store, admission, ctx, compareWriteOnly: (info) => mayWrite(req, info), warnings });
      const writes = plan.filter((p) => p.write);
      const unchanged: AuditRecord[] = plan
        .filter((p) => !p.write)
        .map(({ item, before }) => ({ verb: 'apply', kind: item.info.kind, namespace: item.namespace, name: item.name, outcome: 'Success', message: 'unchanged', generation: before?.metadata.generation }));
      let stored: Resource[];
      try {
        stored = await store.writeSet(writes.map((p) => p.write!), ctx, unchanged);
      } catch (err) {
        const item = writeAt(err, writes);
        if (!item) throw err;
        const raced = err instanceof HoldfastError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists') && item.pinned === undefined;
        if (raced && attempt < CONFLICT_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, fullJitterDelay(attempt, CONFLICT_BACKOFF)));
          continue;
        }
        throw await failed(store, ctx, item, err);
      }
      const after = new Map(writes.map((p, i) => [p.item.index, stored[i]!]));
      const answers: AppliedObject[] = new Array(items.length);
      for (const p of plan) {
        const object = present(after.get(p.item.index) ?? p.before!);
        answers[p.item.index] = { action: p.action, object, diff: changeOf(p.item.info, p.before && present(p.before), object, p.action) };
      }
      sendWarnings(res, [...new Set(warnings)]);
      res.json({ apiVersion: API_VERSION, kind: 'ApplyResult', metadata: {}, items: answers });
      return;
    }
  });
  return r;
}

/** The request body: a Kubernetes List whose items each name a known kind, a name and (when namespaced) a project. */
function parseSet(body: unknown): SetItem[] {
  if (!isObject(body) || body.kind !== 'List' || !Array.isArray(body.items)) {
    throw new HoldfastError('BadRequest', 'the request body must be a List: {"apiVersion": "v1", "kind": "List", "items": [objects to apply]}');
  }
  const seen = new Map<string, number>();
  return body.items.map((manifest: unknown, index): SetItem => {
    const where = `items[${index}]`;
    if (!isObject(manifest)) throw new HoldfastError('BadRequest', `${where}: must be an object with apiVersion, kind, metadata and spec`);
    const info = typeof manifest.kind === 'string' ? kindInfo(manifest.kind) : undefined;
    if (!info) throw new HoldfastError('BadRequest', `${where}: unknown kind ${JSON.stringify(manifest.kind)}`);
    const metadata = isObject(manifest.metadata) ? manifest.metadata : {};
    const name = metadata.name;
    if (typeof name !== 'string' || !name) throw new HoldfastError('BadRequest', `${where}: ${info.kind} needs metadata.name`);
    const namespace = typeof metadata.namespace === 'string' && metadata.namespace ? metadata.namespace : undefined;
    if (info.namespaced && !namespace) {
      throw new HoldfastError('BadRequest', `${where}: ${info.kind} "${name}" needs metadata.namespace (its project)`, { details: { kind: info.kind, name } });
    }
    if (!info.namespaced && metadata.namespace !== undefined) {
      throw new HoldfastError('BadRequest', `${where}: ${info.kind} "${name}" is cluster-scoped: metadata.namespace must not be set`, { details: { kind: info.kind, name } });
    }
    if (metadata.resourceVersion !== undefined) checkResourceVersion(metadata.resourceVersion, `${where}.metadata.resourceVersion`);
    const label = `${info.kind} "${namespace ? `${namespace}/` : ''}${name}"`;
    const key = keyOf(info.kind, namespace, name);
    const first = seen.get(key);
    if (first !== undefined) throw new HoldfastError('BadRequest', `${where}: ${label} is already items[${first}]: a set names each object once`, { details: { kind: info.kind, name } });
    seen.set(key, index);
    const pinned = typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : undefined;
    return { index, info, manifest: manifest as unknown as Resource, namespace, name, pinned, label };
  });
}

/** Each object needs what the resource route that writes it needs: its kind's write scope (plan for a dry run), where it lives. */
async function authorizeWrite(req: Request, authorizer: Authorizer, item: SetItem, dryRun: boolean) {
  const path = `${API_BASE}/${item.namespace ? `namespaces/${item.namespace}/` : ''}${item.info.plural}/${item.name}`;
  const refusal = await authorizeAs(req.identity, 'PUT', path, dryRun ? { dryRun: 'All' } : {}, authorizer);
  if (refusal) throw new HoldfastError('Forbidden', `forbidden: items[${item.index}]: cannot apply ${item.label} (${refusal})`, { details: { kind: item.info.kind, name: item.name } });
}

interface PlanOptions {
  store: ResourceStore;
  admission: Admission;
  ctx: WriteContext;
  compareWriteOnly: (info: KindInfo) => boolean;
  warnings: string[];
}

/**
 * What each object needs, in apply order: admission of an object sees the objects before it in the
 * set (a Project the set creates, a Secret it changes) as if they were stored.
 */
async function planSet(items: SetItem[], opts: PlanOptions): Promise<Planned[]> {
  const { store, admission, ctx } = opts;
  const reader = new SetReader(store);
  const plan: Planned[] = [];
  // The stored objects of the whole set in one read: a no-op apply of 50 objects was 50 round trips.
  const found = await store.getMany(items.map((i) => ({ kind: i.info.kind, namespace: i.namespace, name: i.name })));
  const stored = new Map(found.map((obj) => [keyOf(obj.kind, obj.metadata.namespace, obj.metadata.name), obj]));
  for (const item of items) {
    const { info, namespace, name } = item;
    const current = stored.get(keyOf(info.kind, namespace, name));
    try {
      if (item.pinned !== undefined && item.pinned !== current?.metadata.resourceVersion) {
        const now = current ? `it is at resourceVersion ${current.metadata.resourceVersion} now` : 'it has been deleted';
        throw conflict(info.kind, name, `the set was read at resourceVersion ${item.pinned} of ${item.label}, and ${now}: read it again and apply the set again`);
      }
      const target = { info, namespace, dryRun: ctx.dryRun, compareWriteOnly: opts.compareWriteOnly(info), reader };
      if (!current) {
        const admitted = await admission.admit(manifestForCreate(item.manifest, info), target);
        if (admitted.status) admitted.object.status = admitted.status;
        reader.put(admitted.object);
        opts.warnings.push(...(admitted.warnings ?? []));
        plan.push({ item, action: 'created', write: { verb: 'create', object: admitted.object, sealed: admitted.sealed } });
        continue;
      }
      const live = present(current);
      const merged = mergeManifestOntoLive(live, item.manifest, info);
      // Defaults filled in first: a manifest that leaves them out is still no change, without admission.
      if (isUnchanged(live, withSchemaDefaults(merged), info)) {
        plan.push({ item, action: 'unchanged', before: current });
        continue;
      }
      const admitted = await admission.admit(merged, { ...target, name }, current);
      opts.warnings.push(...(admitted.warnings ?? []));
      if (writesNothing(current, admitted.object, info)) {
        plan.push({ item, action: 'unchanged', before: current });
        continue;
      }
      admitted.object.metadata.resourceVersion = current.metadata.resourceVersion;
      reader.put({ ...admitted.object, ...(admitted.status ? { status: admitted.status } : {}) });
      plan.push({ item, action: 'configured', before: current, write: { verb: 'update', object: admitted.object, sealed: admitted.sealed, status: admitted.status } });
    } catch (err) {
      throw await failed(store, ctx, item, err);
    }
  }
  return plan;
}

function changeOf(info: KindInfo, before: Resource | undefined, after: Resource, action: ApplyAction): AppliedObject['diff'] {
  if (action === 'unchanged') return [];
  const view = (obj: Resource) => userOwnedView(obj, info) as unknown as Record<string, unknown>;
  return fastJsonPatch.compare(before ? view(before) : {}, view(after));
}

/** The error of one object of the set, naming it, audited as a failed apply of that object. */
async function failed(store: ResourceStore, ctx: WriteContext, item: SetItem, err: unknown): Promise<unknown> {
  if (!(err instanceof HoldfastError)) {
    await store.auditFailure(ctx, 'apply', item.info.kind, item.namespace, item.name, 'InternalError');
    return err;
  }
  const named = new HoldfastError(err.reason, `items[${item.index}] (${item.label}): ${err.message}`, {
    causes: err.causes,
    details: { ...err.details, kind: item.info.kind, name: item.name },
  });
  await store.auditFailure(ctx, 'apply', item.info.kind, item.namespace, item.name, `${err.reason}: ${err.message}`);
  return named;
}

/** The planned write a store error is about (its details carry the object's kind and name). */
function writeAt(err: unknown, writes: Planned[]): SetItem | undefined {
  const details = err instanceof HoldfastError ? err.details : undefined;
  return writes.find((p) => p.item.info.kind === details?.kind && p.item.name === details?.name)?.item;
}

/**
 * The store as admission should see it while a set is planned: the set's earlier objects included.
 * What it reads from the store is kept for the plan: a thousand Services of one Project admitted
 * in one set read their Server and their Project's Secrets once, not once each.
 */
class SetReader implements AdmissionReader {
  private readonly pending = new Map<string, Resource>();
  private readonly stored = new Map<string, Promise<Resource | undefined>>();
  private readonly listed = new Map<string, ReturnType<ResourceStore['list']>>();

  constructor(private readonly store: ResourceStore) {}

  put(obj: Resource): void {
    this.pending.set(keyOf(obj.kind, obj.metadata.namespace, obj.metadata.name), obj);
  }

  async get(kind: string, namespace: string | undefined, name: string): Promise<Resource | undefined> {
    const key = keyOf(kind, namespace, name);
    const mine = this.pending.get(key);
    if (mine) return mine;
    let read = this.stored.get(key);
    if (!read) this.stored.set(key, (read = this.store.get(kind, namespace, name)));
    return read;
  }

  /** Admission lists by namespace only; the set's objects of that kind and namespace replace or join the stored ones. */
  async list(kind: string, opts: ListOptions = {}) {
    const byNamespaceOnly = Object.keys(opts).every((k) => k === 'namespace');
    const key = `${kind}/${opts.namespace ?? '*'}`;
    let read = byNamespaceOnly ? this.listed.get(key) : undefined;
    if (!read) {
      read = this.store.list(kind, opts);
      if (byNamespaceOnly) this.listed.set(key, read);
    }
    const result = await read;
    const mine = [...this.pending.values()].filter((o) => o.kind === kind && (opts.namespace === undefined || o.metadata.namespace === opts.namespace));
    const names = new Set(mine.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    return { ...result, items: [...result.items.filter((o) => !names.has(`${o.metadata.namespace}/${o.metadata.name}`)), ...mine] };
  }

  sealedValues(ownerUid: string) {
    return this.store.sealedValues(ownerUid);
  }
}

const keyOf = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
