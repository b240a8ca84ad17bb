// The OpenAPI v3 documents of /openapi/v3, as kube-apiserver publishes them: a discovery document
// naming one document per group-version (with a hash of its content in the URL, so clients cache
// it for good), and that document: OpenAPI 3.0 with each kind's schema as its CRD declares it
// (v3 keeps what v2 drops: nullable, oneOf, anyOf, allOf, not) under components.schemas, and the
// paths of its objects with the operations the API answers. Newer kubectl reads it for explain and
// field validation. Pure.
import { createHash } from 'node:crypto';
import type { K8sSchema } from '../schema/load.js';
import { definitionName, listSchema, objectProperties, type PublishedKind } from './v2.js';

export interface V3Operation {
  operationId: string;
  description: string;
  parameters?: Array<{ name: string; in: 'path' | 'query'; required?: boolean; description: string; schema: { type: 'string' } }>;
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref: string } }> }>;
  'x-kubernetes-action': string;
  'x-kubernetes-group-version-kind': { group: string; version: string; kind: string };
}

export interface V3Document {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', V3Operation>>>;
  components: { schemas: Record<string, K8sSchema> };
}

export interface V3Discovery {
  paths: Record<string, { serverRelativeURL: string }>;
}

const DRY_RUN = { name: 'dryRun', in: 'query' as const, description: 'When present, the change is checked and answered but not stored. The only value is All.', schema: { type: 'string' as const } };
const pathParameter = (name: string, description: string) => ({ name, in: 'path' as const, required: true, description, schema: { type: 'string' as const } });

/** The document of one group-version: every published kind of it. */
export function openApiV3Document(kinds: readonly PublishedKind[], title: string, version: string): V3Document {
  const schemas: Record<string, K8sSchema> = {};
  const paths: V3Document['paths'] = {};
  for (const { group, version: apiVersion, kind, plural, namespaced, schema } of kinds) {
    const gvk = { group, version: apiVersion, kind };
    const name = definitionName(group, apiVersion, kind);
    const listName = definitionName(group, apiVersion, `${kind}List`);
    const ref = (n: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${n}` } } });
    const definition: K8sSchema = structuredClone(schema);
    definition.type = 'object';
    definition.properties = objectProperties(definition.properties);
    definition['x-kubernetes-group-version-kind'] = [gvk];
    schemas[name] = definition;
    schemas[listName] = listSchema(gvk, `#/components/schemas/${name}`);

    const prefix = `/apis/${group}/${apiVersion}${namespaced ? '/namespaces/{namespace}' : ''}/${plural}`;
    const scope = namespaced ? [pathParameter('namespace', 'The Project the object belongs to.')] : [];
    const named = [...scope, pathParameter('name', `The ${kind}'s name.`)];
    const suffix = `${namespaced ? 'Namespaced' : ''}${kind}`;
    const op = (action: string, operationId: string, description: string, extra: Partial<V3Operation>, response: string | undefined): V3Operation => ({
      operationId,
      description,
      ...extra,
      responses: { '200': { description: 'OK', ...(response ? { content: ref(response) } : {}) }, '401': { description: 'Unauthorized' } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    });
    paths[prefix] = {
      get: op('list', `list${suffix}`, `list or watch ${kind} objects`, { parameters: scope }, listName),
      post: op('post', `create${suffix}`, `create a ${kind}`, { parameters: [...scope, DRY_RUN], requestBody: { content: ref(name) } }, name),
    };
    paths[`${prefix}/{name}`] = {
      get: op('get', `read${suffix}`, `read the specified ${kind}`, { parameters: named }, name),
      put: op('put', `replace${suffix}`, `replace the specified ${kind}`, { parameters: [...named, DRY_RUN], requestBody: { content: ref(name) } }, name),
      patch: op('patch', `patch${suffix}`, `partially update the specified ${kind} (JSON merge patch)`, { parameters: [...named, DRY_RUN], requestBody: { content: { 'application/merge-patch+json': { schema: { $ref: `#/components/schemas/${name}` } } } } }, name),
      delete: op('delete', `delete${suffix}`, `delete the specified ${kind}`, { parameters: [...named, DRY_RUN] }, undefined),
    };
  }
  return { openapi: '3.0.0', info: { title, version }, paths, components: { schemas } };
}

/** The path of a group-version's document below /openapi/v3, as kube-apiserver names it. */
export const groupVersionPath = (group: string, version: string) => `apis/${group}/${version}`;

/** A content hash for the document's URL: a client that has it never needs to ask again. */
export function documentHash(document: V3Document): string {
  return createHash('sha512').update(JSON.stringify(document)).digest('hex').slice(0, 128).toUpperCase();
}

export function openApiV3Discovery(documents: ReadonlyArray<{ path: string; hash: string }>): V3Discovery {
  return { paths: Object.fromEntries(documents.map((d) => [d.path, { serverRelativeURL: `/openapi/v3/${d.path}?hash=${d.hash}` }])) };
}
