// The schema sources: one CustomResourceDefinition per kind in crds/, the Event schema and the
// shared metadata schema in core/schema/. Those YAML files are the single source of the resource
// schemas; everything else (validation, generated types, the published schema) derives from them.
// Their text reaches this module through sources.generated.ts (scripts/gen-types.ts writes it, and a
// unit test fails while it differs from the files), so the core reads no file itself.

import { load } from 'js-yaml';
import { KINDS } from '../resource.js';
import { SCHEMA_TEXTS } from './sources.generated.js';

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

/** The text of each schema file, by its path from the package root. */
export interface SchemaTexts {
  crds: Array<{ file: string; text: string }>;
  event: { file: string; text: string };
  objectMeta: { file: string; text: string };
}

export interface SchemaSources {
  /** CRD file (path from the package root) by kind. */
  crdFiles: Map<string, string>;
  crds: Map<string, CustomResourceDefinition>;
  /** openAPIV3Schema by kind, Event included. */
  schemas: Map<string, K8sSchema>;
  objectMeta: K8sSchema;
}

function parseYaml({ file, text }: { file: string; text: string }): unknown {
  return load(text, { filename: file });
}

/** Parses and checks the schema files' text: one CRD per kind, each with an openAPIV3Schema. */
export function parseSchemaSources(texts: SchemaTexts): SchemaSources {
  const crdFiles = new Map<string, string>();
  const crds = new Map<string, CustomResourceDefinition>();
  const schemas = new Map<string, K8sSchema>();

  for (const source of texts.crds) {
    const { file } = source;
    const crd = parseYaml(source) as CustomResourceDefinition;
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

  const event = parseYaml(texts.event) as { schema: { openAPIV3Schema: K8sSchema } };
  schemas.set('Event', event.schema.openAPIV3Schema);
  const objectMeta = (parseYaml(texts.objectMeta) as { openAPIV3Schema: K8sSchema }).openAPIV3Schema;

  for (const k of KINDS) {
    if (!schemas.has(k.kind)) throw new Error(`no schema for kind ${k.kind} (expected a CRD in crds/)`);
  }
  return { crdFiles, crds, schemas, objectMeta };
}

let cached: SchemaSources | undefined;

/** The schema sources this build carries, parsed once. */
export function loadSchemaSources(): SchemaSources {
  cached ??= parseSchemaSources(SCHEMA_TEXTS);
  return cached;
}
