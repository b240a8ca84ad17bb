import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../../core/package-root.js';
import { loadSchemaSources } from '../../../core/schema/load.js';
import type { ServiceSpec } from '../../../core/schema/types.generated.js';
import { validateKind } from '../../../core/schema/validate.js';
import { GENERATED_TYPES_FILE, renderTypes } from '../../../scripts/gen-types.js';
import { readSchemaTexts, renderSchemaTexts, SCHEMA_TEXTS_FILE } from '../../../scripts/schema-texts.js';

describe('core/schema/types.generated.ts', () => {
  it('is what scripts/gen-types.ts makes of the current schemas (run `npm run gen:types` if not)', () => {
    const committed = readFileSync(join(packageRoot(), GENERATED_TYPES_FILE), 'utf8');
    assert.equal(committed, renderTypes());
  });

  it('describes what validation returns: defaulted fields are present', () => {
    const service = validateKind('Service', {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { environment: 'production', server: 'edge-1', source: { image: 'web:1' } },
    });
    const spec: ServiceSpec = service.spec!;
    assert.equal(spec.update.order, 'start-first');
    assert.equal(spec.driftPolicy.mode, 'report');
    assert.equal(spec.replicas, 1);
  });
});

describe('core/schema/sources.generated.ts', () => {
  it('carries the schema files as they are (run `npm run gen:types` if not)', () => {
    const committed = readFileSync(join(packageRoot(), SCHEMA_TEXTS_FILE), 'utf8');
    assert.equal(committed, renderSchemaTexts(readSchemaTexts(packageRoot())));
  });

  it('is what the core validates with: every CRD of crds/, by kind', () => {
    const { crdFiles } = loadSchemaSources();
    assert.equal(crdFiles.get('Service'), 'crds/service.yaml');
    assert.equal(crdFiles.size, readSchemaTexts(packageRoot()).crds.length);
  });
});
