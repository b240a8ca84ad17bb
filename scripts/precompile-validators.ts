// The CRD schemas' ajv validators as module source (CommonJS), for the CLI's bundle: the module
// stands in for core/schema/compiled-validators.ts, with the same two functions, so a CLI run
// neither reads the CRD files nor compiles a schema. Status validators are left out: only the
// server validates a status, and they would double the CLI's size.
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import { createAjv, metadataOnlySchema, objectSchema } from '../core/schema/compiled-validators.js';
import { toAjvSchema } from '../core/schema/convert.js';
import { loadSchemaSources, type K8sSchema } from '../core/schema/load.js';

const standaloneCode = standaloneCodeModule.default;
const METADATA_ONLY = '#metadataOnly';

export function precompiledValidatorsSource(): string {
  const sources = loadSchemaSources();
  const ajv = createAjv({ code: { source: true } });
  const kinds: Record<string, K8sSchema> = {};
  const exportsById: Record<string, string> = {};
  const add = (id: string, schema: K8sSchema) => {
    ajv.addSchema(toAjvSchema(schema), id);
    exportsById[id] = id;
  };
  for (const kind of [...sources.schemas.keys()].sort()) {
    const schema = objectSchema(sources, kind)!;
    kinds[kind] = schema;
    add(kind, schema);
  }
  const metadataOnly = metadataOnlySchema(sources);
  add(METADATA_ONLY, metadataOnly);

  const glue = `
const precompiledSchemas = ${JSON.stringify({ kinds, metadataOnly })};
exports.kindValidator = (kind) => {
  if (!Object.hasOwn(precompiledSchemas.kinds, kind)) return undefined;
  return { schema: precompiledSchemas.kinds[kind], validateObject: exports[kind], validateStatus: statusNotInCli };
};
const statusNotInCli = () => {
  throw new Error("the CLI validates objects only; a status is validated by the server");
};
exports.metadataOnlyValidator = () => ({ schema: precompiledSchemas.metadataOnly, validate: exports[${JSON.stringify(METADATA_ONLY)}] });
`;
  return `${standaloneCode(ajv, exportsById)}\n${glue}`;
}
