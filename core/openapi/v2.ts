// The OpenAPI v2 document kubectl reads from /openapi/v2 (validation, explain, apply and diff),
// built from the kinds' openAPIV3Schemas the way kube-apiserver publishes custom resources: what
// v2 cannot say is dropped (nullable, oneOf/anyOf/allOf/not), a subtree that keeps unknown fields
// or takes an int or a string becomes an untyped (arbitrary) value, and every kind's definition
// carries x-kubernetes-group-version-kind, which is how kubectl finds it. Pure.
import type { K8sSchema } from '../schema/load.js';

/** A Swagger 2.0 schema node: only what kubectl reads. */
export interface V2Schema {
  $ref?: string;
  type?: string;
  description?: string;
  format?: string;
  properties?: Record<string, V2Schema>;
  additionalProperties?: V2Schema | boolean;
  items?: V2Schema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  [extension: `x-${string}`]: unknown;
}

/** A query parameter of an operation. */
export interface V2QueryParameter {
  name: string;
  in: 'query';
  type: 'string';
  description: string;
}

/** An operation: kubectl reads the kind it acts on and whether it takes dryRun. */
export interface V2Operation {
  operationId: string;
  parameters: V2QueryParameter[];
  'x-kubernetes-action': string;
  'x-kubernetes-group-version-kind': { group: string; kind: string; version: string };
}

export interface V2Document {
  swagger: '2.0';
  info: { title: string; version: string };
  /** Each object's path with its PATCH, the operation kubectl looks at before a server-side dry run (apply, diff). */
  paths: Record<string, { patch: V2Operation }>;
  definitions: Record<string, V2Schema>;
}

export interface PublishedKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  schema: K8sSchema;
}

const DRY_RUN: V2QueryParameter = {
  name: 'dryRun',
  in: 'query',
  type: 'string',
  description: 'When present, the change is checked and answered but not stored. The only value is All.',
};

const COPIED = ['type', 'description', 'format', 'required', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems'] as const;

/** One schema node in the form v2 can carry. */
export function toV2Schema(node: K8sSchema): V2Schema {
  const out: V2Schema = {};
  const extensions = Object.entries(node).filter(([key]) => key.startsWith('x-kubernetes-'));
  // kubectl would refuse the fields such a subtree keeps, or the other of int-or-string: arbitrary.
  if (node['x-kubernetes-preserve-unknown-fields'] || node['x-kubernetes-int-or-string']) {
    if (node.description) out.description = node.description;
    for (const [key, value] of extensions) out[key as `x-${string}`] = value;
    return out;
  }
  for (const key of COPIED) if (node[key] !== undefined) (out as Record<string, unknown>)[key] = structuredClone(node[key]);
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([name, child]) => [name, toV2Schema(child)]));
  if (node.additionalProperties !== undefined) {
    out.additionalProperties = typeof node.additionalProperties === 'boolean' ? node.additionalProperties : toV2Schema(node.additionalProperties);
  }
  // An array v2 cannot describe the items of still needs one item schema for kubectl.
  if (node.type === 'array') out.items = node.items ? toV2Schema(node.items) : {};
  for (const [key, value] of extensions) out[key as `x-${string}`] = structuredClone(value);
  return out;
}

/** The definition name kube-apiserver uses: the group reversed, the version, the kind. */
export const definitionName = (group: string, version: string, kind: string) => `${group.split('.').reverse().join('.')}.${version}.${kind}`;

/** apiVersion and kind first, the schema's own fields, metadata last: every object has them, whatever its schema says (metadata is validated by the server). */
export function objectProperties<S>(own: Record<string, S> | undefined) {
  return {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    ...own,
    metadata: { type: 'object', description: "Standard object's metadata." },
  };
}

/** The schema of a kind's list, its items a reference to the kind's own schema. */
export function listSchema(gvk: { group: string; version: string; kind: string }, itemRef: string) {
  return {
    type: 'object',
    description: `A list of ${gvk.kind} objects.`,
    required: ['items'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      items: { type: 'array', items: { $ref: itemRef } },
    },
    'x-kubernetes-group-version-kind': [{ group: gvk.group, kind: `${gvk.kind}List`, version: gvk.version }],
  };
}

export function openApiV2Document(kinds: readonly PublishedKind[], title: string, version: string): V2Document {
  const definitions: Record<string, V2Schema> = {};
  const paths: V2Document['paths'] = {};
  for (const { group, version: apiVersion, kind, plural, namespaced, schema } of kinds) {
    const objectPath = `/apis/${group}/${apiVersion}${namespaced ? '/namespaces/{namespace}' : ''}/${plural}/{name}`;
    paths[objectPath] = {
      patch: {
        operationId: `patch${namespaced ? 'Namespaced' : ''}${kind}`,
        parameters: [DRY_RUN],
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group, kind, version: apiVersion },
      },
    };
    const definition = toV2Schema(schema);
    definition.type = 'object';
    definition.properties = objectProperties(definition.properties);
    definition['x-kubernetes-group-version-kind'] = [{ group, kind, version: apiVersion }];
    definitions[definitionName(group, apiVersion, kind)] = definition;
    definitions[definitionName(group, apiVersion, `${kind}List`)] = listSchema({ group, version: apiVersion, kind }, `#/definitions/${definitionName(group, apiVersion, kind)}`);
  }
  return { swagger: '2.0', info: { title, version }, paths, definitions };
}
