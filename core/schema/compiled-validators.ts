// The ajv validators behind validate.ts, compiled from the CRD schemas when first used. The CLI's
// bundle replaces this module with the same validators compiled at build time
// (scripts/precompile-validators.ts), so a CLI run compiles nothing and reads no CRD file.

import AjvModule, { type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { toAjvSchema } from './convert.js';
import { loadSchemaSources, type K8sSchema, type SchemaSources } from './load.js';

const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;

export interface KindValidator {
  /** The kind's schema with the shared metadata schema in place of the CRD's bare `metadata`. */
  schema: K8sSchema;
  validateObject: ValidateFunction;
  /** The status subresource's validator (undefined when the kind has no status). */
  validateStatus(): ValidateFunction | undefined;
}

export interface MetadataOnlyValidator {
  schema: K8sSchema;
  validate: ValidateFunction;
}

/**
 * strictTypes is off because `required` inside a oneOf branch has no `type` beside it, which is
 * exactly how Kubernetes wants a junctor written.
 */
export function createAjv(extra: Options = {}): InstanceType<typeof Ajv> {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    allowUnionTypes: true,
    ...extra,
  });
  addFormats(ajv);
  return ajv;
}

/** What each kind's object is checked against: its CRD schema with the shared metadata schema. */
export function objectSchema(sources: SchemaSources, kind: string): K8sSchema | undefined {
  const source = sources.schemas.get(kind);
  if (!source) return undefined;
  const schema = structuredClone(source);
  schema.properties = { ...schema.properties, metadata: structuredClone(sources.objectMeta) };
  schema.required = [...new Set(['metadata', ...(schema.required ?? [])])];
  return schema;
}

/** A status subresource body, wrapped so that error paths start with `status.`. */
export function statusSchema(schema: K8sSchema): K8sSchema | undefined {
  const status = schema.properties?.status;
  return status ? { type: 'object', required: ['status'], properties: { status } } : undefined;
}

/** For a document of unknown kind, the metadata can still be checked. */
export function metadataOnlySchema(sources: SchemaSources): K8sSchema {
  return {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    required: ['metadata'],
    properties: { metadata: structuredClone(sources.objectMeta) },
  };
}

let ajv: InstanceType<typeof Ajv> | undefined;
const kinds = new Map<string, KindValidator>();
let metadataOnly: MetadataOnlyValidator | undefined;

// Compiled per kind on first use: compiling all of them costs ~200 ms, and most processes meet
// a few kinds.
export function kindValidator(kind: string): KindValidator | undefined {
  const known = kinds.get(kind);
  if (known) return known;
  const schema = objectSchema(loadSchemaSources(), kind);
  if (!schema) return undefined;
  ajv ??= createAjv();
  const compiler = ajv;
  let validateStatus: ValidateFunction | undefined;
  const entry: KindValidator = {
    schema,
    validateObject: compiler.compile(toAjvSchema(schema)),
    validateStatus: () => {
      const status = statusSchema(schema);
      if (status && !validateStatus) validateStatus = compiler.compile(toAjvSchema(status));
      return validateStatus;
    },
  };
  kinds.set(kind, entry);
  return entry;
}

export function metadataOnlyValidator(): MetadataOnlyValidator {
  if (metadataOnly) return metadataOnly;
  const schema = metadataOnlySchema(loadSchemaSources());
  ajv ??= createAjv();
  metadataOnly = { schema, validate: ajv.compile(toAjvSchema(schema)) };
  return metadataOnly;
}
