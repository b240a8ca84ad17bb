import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSchemaSources } from '../../../core/schema/load.js';
import type { ServiceSpec } from '../../../core/schema/types.generated.js';
import { validateKind } from '../../../core/schema/validate.js';
import { GENERATED_TYPES_FILE, renderTypes } from '../../../scripts/gen-types.js';

describe('core/schema/types.generated.ts', () => {
  it('is what scripts/gen-types.ts makes of the current schemas (run `npm run gen:types` if not)', () => {
    const committed = readFileSync(join(loadSchemaSources().root, GENERATED_TYPES_FILE), 'utf8');
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
