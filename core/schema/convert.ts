// Turns a Kubernetes structural schema into what ajv needs, and applies the schema's defaults the
// way the Kubernetes API server does.

import type { K8sSchema } from './load.js';

type AjvSchema = Record<string, unknown>;

/**
 * Kubernetes prunes unknown fields of objects that declare `properties`; Holdfast rejects them
 * instead, so a misspelt field is an error and not a silently ignored setting. `additionalProperties:
 * false` is therefore added here, at validation time: the CRD files must not carry it.
 */
export function toAjvSchema(schema: K8sSchema, inJunctor = false): AjvSchema {
  const out: AjvSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    switch (key) {
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, K8sSchema>).map(([name, sub]) => [name, toAjvSchema(sub, inJunctor)]),
        );
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof value === 'boolean' ? value : toAjvSchema(value as K8sSchema);
        break;
      case 'items':
        out.items = toAjvSchema(value as K8sSchema, inJunctor);
        break;
      // A junctor branch only adds constraints to fields declared beside it (a structural-schema
      // rule), so it must not reject the fields it does not mention.
      case 'not':
        out.not = toAjvSchema(value as K8sSchema, true);
        break;
      case 'oneOf':
      case 'anyOf':
      case 'allOf':
        out[key] = (value as K8sSchema[]).map((branch) => toAjvSchema(branch, true));
        break;
      default:
        out[key] = value;
    }
  }
  if (schema['x-kubernetes-int-or-string']) out.type = ['integer', 'string'];
  if (schema['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  const open = inJunctor || schema['x-kubernetes-preserve-unknown-fields'];
  if (schema.properties && !open && schema.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Fills missing fields with their schema default, in place, before validation — as Kubernetes
 * does, so that a constraint such as "host is required unless kind is local" sees the defaulted
 * kind. A `null` in a field that is not nullable is dropped first (Kubernetes prunes it), so an
 * empty YAML key means "not set" and can still take its default.
 */
export function applySchemaDefaults(schema: K8sSchema, data: unknown): void {
  if (isPlainObject(data)) {
    const properties = schema.properties ?? {};
    for (const [name, sub] of Object.entries(properties)) {
      if (data[name] === null && !sub.nullable) delete data[name];
      if (data[name] === undefined && sub.default !== undefined) data[name] = structuredClone(sub.default);
      if (data[name] !== undefined) applySchemaDefaults(sub, data[name]);
    }
    const extra = schema.additionalProperties;
    if (isPlainObject(extra)) {
      for (const name of Object.keys(data)) {
        if (!(name in properties)) applySchemaDefaults(extra as K8sSchema, data[name]);
      }
    }
  } else if (Array.isArray(data) && schema.items) {
    for (const item of data) applySchemaDefaults(schema.items, item);
  }
}

/** Calls `visit` for every array in `data` whose schema declares `x-kubernetes-list-type: map`. */
export function forEachListMap(
  schema: K8sSchema,
  data: unknown,
  pointer: string[],
  visit: (keys: string[], items: unknown[], pointer: string[]) => void,
): void {
  if (isPlainObject(data)) {
    const properties = schema.properties ?? {};
    for (const [name, sub] of Object.entries(properties)) {
      if (data[name] !== undefined) forEachListMap(sub, data[name], [...pointer, name], visit);
    }
    const extra = schema.additionalProperties;
    if (isPlainObject(extra)) {
      for (const name of Object.keys(data)) {
        if (!(name in properties)) forEachListMap(extra as K8sSchema, data[name], [...pointer, name], visit);
      }
    }
  } else if (Array.isArray(data) && schema.items) {
    const keys = schema['x-kubernetes-list-map-keys'];
    if (schema['x-kubernetes-list-type'] === 'map' && keys) visit(keys, data, pointer);
    data.forEach((item, i) => forEachListMap(schema.items!, item, [...pointer, String(i)], visit));
  }
}
