// What `apply` writes: the manifest owns spec, labels and annotations; the server owns the rest of
// metadata (uid, resourceVersion, generation, timestamps, finalizers, owners) and status. Pure.
import { deepEqual } from './canonical-json.js';
import type { KindInfo, ObjectMeta, Resource } from './resource.js';

const OBJECT_ENVELOPE = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** The body a manifest contributes: `spec` for most kinds, the top-level fields for kinds without one. */
function userBody(obj: Resource, kind: KindInfo): Record<string, unknown> {
  if (kind.hasSpec) return obj.spec === undefined || obj.spec === null ? {} : { spec: obj.spec };
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) if (!OBJECT_ENVELOPE.has(key)) body[key] = value;
  return body;
}

/** The object to POST for a manifest that does not exist yet: identity and user-owned fields only. */
export function manifestForCreate(manifest: Resource, kind: KindInfo): Resource {
  return {
    apiVersion: manifest.apiVersion,
    kind: manifest.kind,
    metadata: userMetadata(manifest.metadata),
    ...userBody(manifest, kind),
  };
}

/**
 * The manifest laid over the live object, ready to PUT: the manifest's spec (or body), labels and
 * annotations replace the live ones; everything else, resourceVersion included, is kept from live.
 */
export function mergeManifestOntoLive(live: Resource, manifest: Resource, kind: KindInfo): Resource {
  const merged: Resource = { ...live, metadata: { ...live.metadata } };
  setOrDelete(merged.metadata, 'labels', manifest.metadata.labels);
  setOrDelete(merged.metadata, 'annotations', manifest.metadata.annotations);
  if (kind.hasSpec) {
    delete merged.spec;
  } else {
    for (const key of Object.keys(merged)) if (!OBJECT_ENVELOPE.has(key)) delete merged[key];
  }
  Object.assign(merged, userBody(manifest, kind));
  return merged;
}

/**
 * The parts of an object a manifest owns, plus its identity: what `apply` compares and `diff`
 * shows, so server-managed fields are never noise.
 */
export function userOwnedView(obj: Resource, kind: KindInfo): Resource {
  const metadata: ObjectMeta = { name: obj.metadata.name };
  if (obj.metadata.namespace) metadata.namespace = obj.metadata.namespace;
  if (obj.metadata.labels && Object.keys(obj.metadata.labels).length) metadata.labels = obj.metadata.labels;
  if (obj.metadata.annotations && Object.keys(obj.metadata.annotations).length) metadata.annotations = obj.metadata.annotations;
  const body = userBody(obj, kind);
  if (kind.hasSpec && body.spec && Object.keys(body.spec as object).length === 0) delete body.spec;
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata, ...body };
}

/**
 * True when writing `merged` (the manifest laid over `live`) would leave spec, labels and
 * annotations as they are. Never for write-only kinds: their values are not readable, so only the
 * server can tell (see writesNothing).
 */
export function isUnchanged(live: Resource, merged: Resource, kind: KindInfo): boolean {
  if (kind.writeOnly) return false;
  return deepEqual(userOwnedView(live, kind), userOwnedView(merged, kind));
}

/**
 * The same question asked by the server after admission: `admitted` has the schema defaults applied
 * and write-only values as their hashes, and both it and `stored` are the stored form (hashes
 * included), so a spelled-out default is no change and a changed secret value is one.
 */
export function writesNothing(stored: Resource, admitted: Resource, kind: KindInfo): boolean {
  return deepEqual(userOwnedView(stored, kind), userOwnedView(admitted, kind));
}

function userMetadata(meta: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = { name: meta.name };
  if (meta.namespace) out.namespace = meta.namespace;
  if (meta.labels) out.labels = meta.labels;
  if (meta.annotations) out.annotations = meta.annotations;
  return out;
}

function setOrDelete(meta: ObjectMeta, key: 'labels' | 'annotations', value: Record<string, string> | undefined): void {
  if (value === undefined || value === null) delete meta[key];
  else meta[key] = value;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

/** One RFC 6902 operation. */
export interface PatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

/** The server's answer for one object of a set apply (POST …/apply), in the order of the request. */
export interface AppliedObject {
  action: ApplyAction;
  /** As stored (or, in a dry run, as it would be). */
  object: Resource;
  /** From the stored user-owned view (userOwnedView: spec, labels, annotations) to the new one. */
  diff: PatchOperation[];
}
