// Reads the schema sources: one CustomResourceDefinition per kind in crds/, the Event schema and
// the shared metadata schema here in core/schema/. These YAML files are the single source of the
// resource schemas; everything else (validation, generated types, the published schema) derives
// from them.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { KINDS } from '../resource.js';

/** An OpenAPI v3 schema node in the form Kubernetes accepts in a CRD. */
export interface K8sSchema {
  type?: string;
  description?: string;
  properties?: Record<string, K8sSchema>;
  additionalProperties?: K8sSchema | boolean;
  items?: K8sSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  oneOf?: K8sSchema[];
  anyOf?: K8sSchema[];
  allOf?: K8sSchema[];
  not?: K8sSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  [extension: string]: unknown;
}

export interface CustomResourceDefinition {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { kind: string; listKind?: string; plural: string; singular?: string; shortNames?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: Record<string, never> };
      additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string; description?: string; priority?: number }>;
      schema: { openAPIV3Schema: K8sSchema };
    }>;
  };
}

export interface SchemaSources {
  /** Root directory of the package (where crds/ lives). */
  root: string;
  /** CRD file path by kind. */
  crdFiles: Map<string, string>;
  crds: Map<string, CustomResourceDefinition>;
  /** openAPIV3Schema by kind, Event included. */
  schemas: Map<string, K8sSchema>;
  objectMeta: K8sSchema;
}

const EVENT_SCHEMA_FILE = join('core', 'schema', 'event.yaml');
const OBJECT_META_SCHEMA_FILE = join('core', 'schema', 'object-meta.yaml');

/**
 * The package root, found by walking up from this module: the same code runs from source (tsx)
 * and compiled (dist/core/schema), and both sit below the directory holding crds/.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'crds')) && existsSync(join(dir, EVENT_SCHEMA_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find the crds/ directory above ${dirname(fileURLToPath(import.meta.url))}`);
    }
    dir = parent;
  }
}

function readYaml(file: string): unknown {
  return load(readFileSync(file, 'utf8'), { filename: file });
}

let cached: SchemaSources | undefined;

export function loadSchemaSources(): SchemaSources {
  if (cached) return cached;
  const root = packageRoot();
  const crdFiles = new Map<string, string>();
  const crds = new Map<string, CustomResourceDefinition>();
  const schemas = new Map<string, K8sSchema>();

  for (const entry of readdirSync(join(root, 'crds')).sort()) {
    if (!/\.ya?ml$/.test(entry)) continue;
    const file = join(root, 'crds', entry);
    const crd = readYaml(file) as CustomResourceDefinition;
    const kind = crd?.spec?.names?.kind;
    const schema = crd?.spec?.versions?.[0]?.schema?.openAPIV3Schema;
    if (crd?.kind !== 'CustomResourceDefinition' || !kind || !schema) {
      throw new Error(`${file} is not a CustomResourceDefinition with an openAPIV3Schema`);
    }
    if (crds.has(kind)) throw new Error(`${file}: kind ${kind} is already defined in ${crdFiles.get(kind)}`);
    crdFiles.set(kind, file);
    crds.set(kind, crd);
    schemas.set(kind, schema);
  }

  const event = readYaml(join(root, EVENT_SCHEMA_FILE)) as { schema: { openAPIV3Schema: K8sSchema } };
  schemas.set('Event', event.schema.openAPIV3Schema);
  const objectMeta = (readYaml(join(root, OBJECT_META_SCHEMA_FILE)) as { openAPIV3Schema: K8sSchema }).openAPIV3Schema;

  for (const k of KINDS) {
    if (!schemas.has(k.kind)) throw new Error(`no schema for kind ${k.kind} (expected a CRD in ${join(root, 'crds')})`);
  }
  cached = { root, crdFiles, crds, schemas, objectMeta };
  return cached;
}
