// Validation of every resource against its CRD schema: the one check behind the API, the CLI and
// the GitOps loader. Defaults are applied first, as the Kubernetes API server does; then every
// problem in the document is reported at once, each at its Kubernetes field path.

import { ValidationError, type FieldCause } from '../errors.js';
import { API_VERSION, GROUP, KINDS, kindInfo, type KindInfo, type Resource, type ResourceStatus } from '../resource.js';
import { kindValidator, metadataOnlyValidator } from './compiled-validators.js';
import { applySchemaDefaults, forEachListMap } from './convert.js';
import { loadSchemaSources, type CustomResourceDefinition, type K8sSchema } from './load.js';
import { causesFromAjvErrors, closestMatch, describeValue, fieldPath } from './messages.js';
import {
  annotationsSizeMessage,
  dns1123LabelMessage,
  dns1123SubdomainMessage,
  labelValueMessage,
  qualifiedKeyMessage,
} from './names.js';
import type { ResourceByKind } from './types.generated.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const KNOWN_KINDS = KINDS.map((k) => k.kind);

function invalid(kind: string | undefined, name: string | undefined, causes: FieldCause[], docLabel?: string) {
  const subject = kind ? `${kind}${name ? ` "${name}"` : ''}` : 'document';
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join('; ');
  return new ValidationError(`${docLabel ? `${docLabel}: ` : ''}${subject} is invalid: ${list}`, causes, {
    kind,
    name,
  });
}

function headerCauses(doc: Record<string, unknown>): { causes: FieldCause[]; info?: KindInfo } {
  const causes: FieldCause[] = [];
  if (doc.apiVersion === undefined) {
    causes.push({ field: 'apiVersion', message: `required (${API_VERSION})`, reason: 'FieldValueRequired' });
  } else if (doc.apiVersion !== API_VERSION) {
    causes.push({
      field: 'apiVersion',
      message: `must be ${API_VERSION} (got ${describeValue(doc.apiVersion)})`,
      reason: 'FieldValueNotSupported',
    });
  }
  const info = typeof doc.kind === 'string' ? kindInfo(doc.kind) : undefined;
  if (doc.kind === undefined) {
    causes.push({ field: 'kind', message: `required (one of ${KNOWN_KINDS.join(', ')})`, reason: 'FieldValueRequired' });
  } else if (!info) {
    const guess = typeof doc.kind === 'string' ? closestMatch(doc.kind, KNOWN_KINDS) : undefined;
    causes.push({
      field: 'kind',
      message:
        `unknown kind ${describeValue(doc.kind)}${guess ? ` (did you mean "${guess}"?)` : ''}; ` +
        `known kinds: ${KNOWN_KINDS.join(', ')}`,
      reason: 'FieldValueNotSupported',
    });
  }
  return { causes, info };
}

function metadataCauses(doc: Record<string, unknown>, info: KindInfo | undefined): FieldCause[] {
  const causes: FieldCause[] = [];
  const meta = doc.metadata;
  if (!isPlainObject(meta)) return causes;
  if (typeof meta.name === 'string') {
    // Event names carry a dot-separated suffix, as Kubernetes event names do.
    const problem = info?.kind === 'Event' ? dns1123SubdomainMessage(meta.name) : dns1123LabelMessage(meta.name);
    if (problem) causes.push({ field: 'metadata.name', message: problem, reason: 'FieldValueInvalid' });
  }
  for (const which of ['labels', 'annotations'] as const) {
    const map = meta[which];
    if (!isPlainObject(map)) continue;
    for (const [key, value] of Object.entries(map)) {
      const field = fieldPath(['metadata', which, key], doc);
      const keyProblem = qualifiedKeyMessage(key);
      if (keyProblem) causes.push({ field, message: keyProblem, reason: 'FieldValueInvalid' });
      const valueProblem = which === 'labels' && typeof value === 'string' ? labelValueMessage(value) : undefined;
      if (valueProblem) causes.push({ field, message: valueProblem, reason: 'FieldValueInvalid' });
    }
    const sizeProblem = which === 'annotations' ? annotationsSizeMessage(map) : undefined;
    if (sizeProblem) causes.push({ field: 'metadata.annotations', message: sizeProblem, reason: 'FieldValueTooLong' });
  }
  return causes;
}

/** Entries of a list keyed by name (or by several fields) must be unique, as Kubernetes list maps are. */
function listMapCauses(schema: K8sSchema, doc: Record<string, unknown>): FieldCause[] {
  const causes: FieldCause[] = [];
  forEachListMap(schema, doc, [], (keys, items, pointer) => {
    const firstIndex = new Map<string, number>();
    items.forEach((item, i) => {
      if (!isPlainObject(item) || keys.some((k) => item[k] === undefined)) return;
      const id = JSON.stringify(keys.map((k) => item[k]));
      const first = firstIndex.get(id);
      if (first === undefined) {
        firstIndex.set(id, i);
        return;
      }
      const what = keys.map((k) => `${k} ${describeValue(item[k])}`).join(', ');
      causes.push({
        field: fieldPath([...pointer, String(i)], doc),
        message: `duplicate entry: ${what} is already listed at ${fieldPath([...pointer, String(first)], doc)}`,
        reason: 'FieldValueDuplicate',
      });
    });
  });
  return causes;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const SECRET_KEY_MAX = 253;

/** Rules a schema cannot say: keys of a map, and conflicts between list entries. */
function kindRuleCauses(kind: string, doc: Record<string, unknown>): FieldCause[] {
  const causes: FieldCause[] = [];
  const spec = doc.spec;
  if (!isPlainObject(spec)) return causes;

  if (kind === 'Secret') {
    for (const which of ['data', 'stringData']) {
      const map = spec[which];
      if (!isPlainObject(map)) continue;
      for (const key of Object.keys(map)) {
        if (SECRET_KEY.test(key) && key.length <= SECRET_KEY_MAX) continue;
        causes.push({
          field: fieldPath(['spec', which, key], doc),
          message: `key must be at most ${SECRET_KEY_MAX} letters, digits, "-", "_" and "." (got ${JSON.stringify(key)})`,
          reason: 'FieldValueInvalid',
        });
      }
    }
  }

  if (kind === 'Service' && isPlainObject(spec.labels)) {
    for (const key of Object.keys(spec.labels)) {
      if (!key.startsWith(`${GROUP}/`)) continue;
      causes.push({
        field: fieldPath(['spec', 'labels', key], doc),
        message: `the ${GROUP}/ prefix is reserved for the labels Holdfast sets itself`,
        reason: 'FieldValueForbidden',
      });
    }
  }

  if (kind === 'Service' && Array.isArray(spec.ports)) {
    const publishedBy = new Map<string, number>();
    spec.ports.forEach((port, i) => {
      if (!isPlainObject(port) || typeof port.hostPort !== 'number') return;
      const protocol = typeof port.protocol === 'string' ? port.protocol : 'tcp';
      const address = typeof port.hostIP === 'string' ? `${port.hostIP}:` : '';
      const binding = `${address}${port.hostPort}/${protocol}`;
      const first = publishedBy.get(binding);
      if (first === undefined) {
        publishedBy.set(binding, i);
        return;
      }
      causes.push({
        field: fieldPath(['spec', 'ports', String(i), 'hostPort'], doc),
        message: `host port ${binding} is already published by spec.ports[${first}]`,
        reason: 'FieldValueDuplicate',
      });
    });
  }
  return causes;
}

const TOP_LEVEL_ORDER = ['', 'apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** Orders causes as a reader meets the fields (header, metadata, spec, status); stable within each. */
function sortByDocumentOrder(causes: FieldCause[]): void {
  const rank = (c: FieldCause) => {
    const i = TOP_LEVEL_ORDER.indexOf(c.field.split(/[.[]/)[0]);
    return i < 0 ? TOP_LEVEL_ORDER.length : i;
  };
  causes.sort((a, b) => rank(a) - rank(b));
}

/**
 * A copy of `obj` with its kind's schema defaults filled in, not validated: what admission stores for
 * the fields a manifest leaves out, so a manifest can be compared with what is stored.
 */
export function withSchemaDefaults(obj: Resource): Resource {
  const entry = kindValidator(obj.kind);
  if (!entry) return obj;
  const copy = structuredClone(obj);
  applySchemaDefaults(entry.schema, copy);
  return copy;
}

/**
 * Validates one manifest or API body and returns a copy with its defaults applied. Throws a
 * ValidationError listing every problem, each as a cause with its field path; `docLabel` (e.g.
 * `manifests/web.yaml#2`) prefixes the message so the user knows which document is meant.
 */
export function validateObject(obj: unknown, opts: { docLabel?: string } = {}): { object: Resource } {
  if (!isPlainObject(obj)) {
    const message = `must be an object with apiVersion, kind, metadata and spec (got ${describeValue(obj)})`;
    throw invalid(undefined, undefined, [{ field: '', message, reason: 'FieldValueTypeInvalid' }], opts.docLabel);
  }
  const doc = structuredClone(obj);
  const { causes, info } = headerCauses(doc);
  const kind = info?.kind;
  const entry = kind ? kindValidator(kind) : undefined;
  const fallback = entry ? undefined : metadataOnlyValidator();

  applySchemaDefaults(entry ? entry.schema : fallback!.schema, doc);
  const check = entry ? entry.validateObject : fallback!.validate;
  if (!check(doc)) {
    const hidden = (field: string) => Boolean(info?.writeOnly) && field.startsWith('spec.');
    const schemaCauses = causesFromAjvErrors(check.errors ?? [], doc, { hideValue: hidden });
    // apiVersion and kind are reported above, in words that name the accepted values.
    causes.push(...schemaCauses.filter((c) => c.field !== 'apiVersion' && c.field !== 'kind'));
  }
  causes.push(...metadataCauses(doc, info));
  if (entry && kind) causes.push(...listMapCauses(entry.schema, doc), ...kindRuleCauses(kind, doc));

  if (causes.length > 0) {
    sortByDocumentOrder(causes);
    const name = isPlainObject(doc.metadata) && typeof doc.metadata.name === 'string' ? doc.metadata.name : undefined;
    throw invalid(typeof doc.kind === 'string' ? doc.kind : undefined, name, causes, opts.docLabel);
  }
  return { object: doc as Resource };
}

/**
 * Validates a document that must be of one kind (e.g. the body of `PUT .../services/web`) and
 * returns it with that kind's generated type.
 */
export function validateKind<K extends keyof ResourceByKind>(
  kind: K,
  obj: unknown,
  opts: { docLabel?: string } = {},
): ResourceByKind[K] {
  if (isPlainObject(obj) && typeof obj.kind === 'string' && obj.kind !== kind) {
    const cause: FieldCause = {
      field: 'kind',
      message: `must be ${kind} here (got ${describeValue(obj.kind)})`,
      reason: 'FieldValueInvalid',
    };
    const name = isPlainObject(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : undefined;
    throw invalid(obj.kind, name, [cause], opts.docLabel);
  }
  return validateObject(obj, opts).object as unknown as ResourceByKind[K];
}

/** Validates a status subresource body for `kind`; returns a copy. Paths start with `status.`. */
export function validateStatus(kind: string, status: unknown): { status: ResourceStatus } {
  const entry = kindValidator(kind);
  const statusSchema = entry?.schema.properties?.status;
  const validate = entry?.validateStatus();
  if (!validate || !statusSchema) {
    throw invalid(kind, undefined, [{ field: 'kind', message: `${kind} has no status subresource`, reason: 'FieldValueNotSupported' }]);
  }
  const doc = { status: structuredClone(status) };
  applySchemaDefaults(statusSchema, doc.status);
  const causes: FieldCause[] = [];
  if (!validate(doc)) causes.push(...causesFromAjvErrors(validate.errors ?? [], doc));
  causes.push(...listMapCauses({ type: 'object', properties: { status: statusSchema } }, doc));
  if (causes.length > 0) throw invalid(kind, undefined, causes);
  return { status: doc.status as ResourceStatus };
}

/**
 * Scope rules the API applies when it knows where an object is written: a namespaced kind needs a
 * namespace (its Project), a cluster-scoped kind must not have one.
 */
export function namespaceCauses(kind: string, metadata: { namespace?: unknown } | undefined): FieldCause[] {
  const info = kindInfo(kind);
  if (!info) return [];
  const namespace = metadata?.namespace;
  if (info.namespaced && (namespace === undefined || namespace === '')) {
    return [
      {
        field: 'metadata.namespace',
        message: `required: ${kind} is namespaced (its namespace is the name of its Project)`,
        reason: 'FieldValueRequired',
      },
    ];
  }
  if (!info.namespaced && namespace !== undefined && namespace !== '') {
    return [
      {
        field: 'metadata.namespace',
        message: `must not be set: ${kind} is cluster-scoped (got ${describeValue(namespace)})`,
        reason: 'FieldValueForbidden',
      },
    ];
  }
  return [];
}

/** The kind's openAPIV3Schema as the CRD declares it (Event's from core/schema), for publishing. */
export function schemaFor(kind: string): K8sSchema | undefined {
  const schema = loadSchemaSources().schemas.get(kind);
  return schema ? structuredClone(schema) : undefined;
}

/** The kind's CustomResourceDefinition as in crds/, for installing into a Kubernetes cluster. */
export function crdFor(kind: string): CustomResourceDefinition | undefined {
  const crd = loadSchemaSources().crds.get(kind);
  return crd ? structuredClone(crd) : undefined;
}

export type { K8sSchema, CustomResourceDefinition };
