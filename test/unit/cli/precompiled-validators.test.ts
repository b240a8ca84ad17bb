// The validators the CLI's bundle carries, compiled at build time (scripts/precompile-validators.ts),
// answer exactly as those compiled at run time (core/schema/compiled-validators.ts): the same
// schemas, the same verdicts and the same errors on valid, invalid and example manifests.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ErrorObject } from 'ajv';
import { load, loadAll } from 'js-yaml';
import { packageRoot } from '../../../core/package-root.js';
import { KINDS } from '../../../core/resource.js';
import { kindValidator, metadataOnlyValidator, type KindValidator, type MetadataOnlyValidator } from '../../../core/schema/compiled-validators.js';
import { applySchemaDefaults } from '../../../core/schema/convert.js';
import { precompiledValidatorsSource } from '../../../scripts/precompile-validators.js';

interface Validators {
  kindValidator(kind: string): KindValidator | undefined;
  metadataOnlyValidator(): MetadataOnlyValidator;
}

const ROOT = packageRoot();

/** The generated module, evaluated as the bundle's CommonJS wrapper would. */
function loadPrecompiled(): Validators {
  const module = { exports: {} as Validators };
  new Function('module', 'exports', 'require', precompiledValidatorsSource())(module, module.exports, createRequire(import.meta.url));
  return module.exports;
}

function yamlDocs(dir: string): Array<{ label: string; doc: unknown }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .flatMap((e) => {
      const file = join(e.parentPath, e.name);
      return loadAll(readFileSync(file, 'utf8')).map((doc, i) => ({ label: `${file.slice(ROOT.length + 1)}#${i + 1}`, doc }));
    });
}

const testdata = join(ROOT, 'test', 'unit', 'core', 'testdata');
const corpus = [
  ...yamlDocs(join(testdata, 'valid')),
  ...readdirSync(join(testdata, 'invalid')).map((f) => ({
    label: `invalid/${f}`,
    doc: (load(readFileSync(join(testdata, 'invalid', f), 'utf8')) as { manifest: unknown }).manifest,
  })),
  ...yamlDocs(join(ROOT, 'examples', 'manifests')),
  ...yamlDocs(join(ROOT, 'examples', 'gitops')),
  { label: 'an unknown kind', doc: { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Widget', metadata: { name: 'Bad_Name', labels: { a: 1 } } } },
];

const errorsOf = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map(({ instancePath, schemaPath, keyword, params, message, data }) => ({ instancePath, schemaPath, keyword, params, message, data }));

describe('precompiled validators', () => {
  const precompiled = loadPrecompiled();

  it('cover every kind, with the same schema the run-time validators use', () => {
    for (const { kind } of KINDS) {
      const built = precompiled.kindValidator(kind);
      assert.ok(built, `${kind} has a precompiled validator`);
      assert.deepEqual(built.schema, kindValidator(kind)!.schema, kind);
    }
    assert.equal(precompiled.kindValidator('Widget'), undefined);
    assert.equal(precompiled.kindValidator('constructor'), undefined);
    assert.deepEqual(precompiled.metadataOnlyValidator().schema, metadataOnlyValidator().schema);
  });

  it('refuse to validate a status, which only the server does', () => {
    assert.throws(() => precompiled.kindValidator('Service')!.validateStatus(), /status is validated by the server/);
  });

  for (const { label, doc } of corpus) {
    it(`${label}: the same verdict and errors`, () => {
      const kind = (doc as { kind?: string }).kind ?? '';
      const pick = (v: Validators) => {
        const entry = v.kindValidator(kind);
        return entry ? { schema: entry.schema, validate: entry.validateObject } : v.metadataOnlyValidator();
      };
      const runtime = pick({ kindValidator, metadataOnlyValidator });
      const built = pick(precompiled);
      const input = structuredClone(doc);
      applySchemaDefaults(runtime.schema, input);
      const expected = runtime.validate(structuredClone(input));
      const expectedErrors = errorsOf(runtime.validate.errors);
      assert.equal(built.validate(structuredClone(input)), expected);
      assert.deepEqual(errorsOf(built.validate.errors), expectedErrors);
    });
  }
  it('the corpus has invalid documents, so errors are compared', () => {
    const failing = corpus.filter(({ doc }) => {
      const entry = kindValidator((doc as { kind?: string }).kind ?? '');
      if (!entry) return true;
      const input = structuredClone(doc);
      applySchemaDefaults(entry.schema, input);
      return !entry.validateObject(input);
    });
    assert.ok(failing.length >= 10, `only ${failing.length} invalid documents`);
  });
});
