import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GROUP, KINDS, VERSION } from '../../../core/resource.js';
import type { PublishedKind } from '../../../core/openapi/v2.js';
import { documentHash, groupVersionPath, openApiV3Discovery, openApiV3Document, type V3Document } from '../../../core/openapi/v3.js';
import { schemaFor } from '../../../core/schema/validate.js';

const published: PublishedKind[] = KINDS.flatMap((k) => {
  const schema = schemaFor(k.kind);
  return schema ? [{ group: GROUP, version: VERSION, kind: k.kind, plural: k.plural, namespaced: k.namespaced, schema }] : [];
});

/** Every `$ref` in a document, wherever it is. */
function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refs(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refs(value, found);
    }
  }
  return found;
}

describe('OpenAPI v3 document of the group-version', () => {
  const doc: V3Document = openApiV3Document(published, 'Holdfast', 'test');

  it('publishes every kind with a schema, and its list, named by group, version and kind', () => {
    assert.ok(published.length >= 10, `only ${published.length} kinds have schemas`);
    for (const { kind } of published) {
      const schema = doc.components.schemas[`dev.holdfast.${VERSION}.${kind}`];
      assert.ok(schema, `${kind} has a schema`);
      assert.deepEqual(schema['x-kubernetes-group-version-kind'], [{ group: GROUP, version: VERSION, kind }]);
      assert.deepEqual(Object.keys(schema.properties!).slice(0, 2), ['apiVersion', 'kind']);
      assert.ok(doc.components.schemas[`dev.holdfast.${VERSION}.${kind}List`], `${kind}List has a schema`);
    }
  });

  it('keeps what v2 drops: the schema is the CRD’s own', () => {
    const kind: PublishedKind = {
      group: GROUP,
      version: VERSION,
      kind: 'Sample',
      plural: 'samples',
      namespaced: true,
      schema: { type: 'object', properties: { spec: { type: 'object', nullable: true, oneOf: [{ required: ['a'] }, { required: ['b'] }], properties: { a: { type: 'string' }, b: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } } } } },
    };
    const spec = openApiV3Document([kind], 'Holdfast', 'test').components.schemas[`dev.holdfast.${VERSION}.Sample`].properties!.spec;
    assert.equal(spec.nullable, true);
    assert.deepEqual(spec.oneOf, [{ required: ['a'] }, { required: ['b'] }]);
    assert.deepEqual(spec.properties!.b.anyOf, [{ type: 'integer' }, { type: 'string' }]);
    assert.equal(kind.schema.properties!.spec.properties!.apiVersion, undefined, 'the input schema is not changed');
  });

  const cases: Array<[string, string, string, string]> = [
    ['a namespaced collection', `/apis/${GROUP}/${VERSION}/namespaces/{namespace}/services`, 'get', 'listNamespacedService'],
    ['a namespaced create', `/apis/${GROUP}/${VERSION}/namespaces/{namespace}/services`, 'post', 'createNamespacedService'],
    ['a namespaced object', `/apis/${GROUP}/${VERSION}/namespaces/{namespace}/services/{name}`, 'patch', 'patchNamespacedService'],
    ['a cluster-wide object', `/apis/${GROUP}/${VERSION}/servers/{name}`, 'delete', 'deleteServer'],
    ['a cluster-wide collection', `/apis/${GROUP}/${VERSION}/projects`, 'get', 'listProject'],
  ];
  for (const [what, path, method, operationId] of cases) {
    it(`has the operations of ${what}`, () => {
      const op = doc.paths[path]?.[method as 'get'];
      assert.ok(op, `${method.toUpperCase()} ${path}`);
      assert.equal(op.operationId, operationId);
      const kind = operationId.replace(/^(list|create|patch|delete|read|replace)(Namespaced)?/, '');
      assert.deepEqual(op['x-kubernetes-group-version-kind'], { group: GROUP, version: VERSION, kind });
      if (method !== 'get') assert.ok(op.parameters?.some((p) => p.name === 'dryRun'), 'writes take dryRun');
      if (path.includes('{namespace}')) assert.ok(op.parameters?.some((p) => p.name === 'namespace' && p.in === 'path' && p.required));
    });
  }

  it('has no $ref that points nowhere', () => {
    const dangling = refs(doc).filter((r) => !doc.components.schemas[r.replace('#/components/schemas/', '')]);
    assert.deepEqual(dangling, []);
    assert.ok(refs(doc).length > published.length * 4);
  });

  it('is named by a hash of its content in the discovery document', () => {
    const hash = documentHash(doc);
    assert.match(hash, /^[0-9A-F]{128}$/);
    assert.equal(documentHash(openApiV3Document(published, 'Holdfast', 'test')), hash, 'the same content, the same hash');
    assert.notEqual(documentHash(openApiV3Document(published, 'Holdfast', 'other')), hash);
    assert.deepEqual(openApiV3Discovery([{ path: groupVersionPath(GROUP, VERSION), hash }]), {
      paths: { [`apis/${GROUP}/${VERSION}`]: { serverRelativeURL: `/openapi/v3/apis/${GROUP}/${VERSION}?hash=${hash}` } },
    });
  });
});
