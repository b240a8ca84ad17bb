import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { encodeOpenApiV2 } from '../../../core/openapi/protobuf.js';
import { definitionName, openApiV2Document, toV2Schema, type V2Schema } from '../../../core/openapi/v2.js';
import type { K8sSchema } from '../../../core/schema/load.js';
import { schemaFor } from '../../../core/schema/validate.js';

describe('OpenAPI v2 schemas from the kinds’ v3 schemas', () => {
  const cases: Array<[string, K8sSchema, V2Schema]> = [
    ['keeps what v2 says', { type: 'string', description: 'd', pattern: '^a', maxLength: 3, enum: ['a', 'b'] }, { type: 'string', description: 'd', pattern: '^a', maxLength: 3, enum: ['a', 'b'] }],
    ['drops nullable and the combinators', { type: 'object', nullable: true, oneOf: [{ required: ['a'] }], anyOf: [{ required: ['b'] }], properties: { a: { type: 'integer' } } }, { type: 'object', properties: { a: { type: 'integer' } } }],
    ['makes a subtree that keeps unknown fields arbitrary', { type: 'object', description: 'free', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } }, { description: 'free', 'x-kubernetes-preserve-unknown-fields': true }],
    ['makes int-or-string untyped', { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] }, { 'x-kubernetes-int-or-string': true }],
    ['gives an array without items an arbitrary item', { type: 'array' }, { type: 'array', items: {} }],
    ['recurses into items and maps', { type: 'array', items: { type: 'object', additionalProperties: { type: 'string', nullable: true } } }, { type: 'array', items: { type: 'object', additionalProperties: { type: 'string' } } }],
    ['keeps list extensions', { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' }, { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' }],
  ];
  for (const [what, input, want] of cases) it(what, () => assert.deepEqual(toV2Schema(input), want));

  it('names every kind and list by group, version and kind, as kubectl looks them up', () => {
    const doc = openApiV2Document([{ group: 'holdfast.dev', version: 'v1alpha1', kind: 'Service', plural: 'services', namespaced: true, schema: schemaFor('Service')! }], 'Holdfast', 'test');
    const service = doc.definitions['dev.holdfast.v1alpha1.Service'];
    assert.deepEqual(service['x-kubernetes-group-version-kind'], [{ group: 'holdfast.dev', kind: 'Service', version: 'v1alpha1' }]);
    assert.deepEqual(Object.keys(service.properties!).slice(0, 2), ['apiVersion', 'kind']);
    assert.deepEqual(service.properties!.metadata, { type: 'object', description: "Standard object's metadata." });
    assert.ok(service.properties!.spec.properties!.environment, 'the spec’s fields are there');
    assert.equal(doc.definitions['dev.holdfast.v1alpha1.ServiceList'].properties!.items.items!.$ref, '#/definitions/dev.holdfast.v1alpha1.Service');
    assert.equal(definitionName('holdfast.dev', 'v1alpha1', 'Project'), 'dev.holdfast.v1alpha1.Project');
  });
});

/** Protobuf wire format, read generically: field number → raw values (varints as numbers, the rest as bytes). */
function readFields(buf: Buffer): Map<number, Array<number | Buffer>> {
  const out = new Map<number, Array<number | Buffer>>();
  let at = 0;
  const varint = () => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = buf[at++];
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  };
  while (at < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let value: number | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 1) (value = buf.subarray(at, at + 8)), (at += 8);
    else if (wire === 2) {
      const length = varint();
      value = buf.subarray(at, at + length);
      at += length;
    } else throw new Error(`wire type ${wire} at ${at}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  assert.equal(at, buf.length, 'every byte belongs to a field');
  return out;
}
const text = (v: number | Buffer | undefined) => (v as Buffer).toString('utf8');

describe('the protobuf form of the document', () => {
  const doc = openApiV2Document([{ group: 'holdfast.dev', version: 'v1alpha1', kind: 'Project', plural: 'projects', namespaced: false, schema: schemaFor('Project')! }], 'Holdfast', '1.2.3');
  const top = readFields(encodeOpenApiV2(doc));

  it('carries the swagger version and info', () => {
    assert.equal(text(top.get(1)![0]), '2.0');
    const info = readFields(top.get(2)![0] as Buffer);
    assert.equal(text(info.get(1)![0]), 'Holdfast');
    assert.equal(text(info.get(2)![0]), '1.2.3');
  });

  it("carries each object's PATCH with its kind and the dryRun parameter, where kubectl checks for dry-run support", () => {
    const named = (readFields(top.get(8)![0] as Buffer).get(2) as Buffer[]).map((b) => readFields(b));
    assert.deepEqual(named.map((n) => text(n.get(1)![0])), ['/apis/holdfast.dev/v1alpha1/projects/{name}']);
    const patch = readFields(readFields(named[0].get(2)![0] as Buffer).get(8)![0] as Buffer);
    assert.equal(text(patch.get(5)![0]), 'patchProject');
    const query = readFields(readFields(readFields(readFields(patch.get(8)![0] as Buffer).get(1)![0] as Buffer).get(2)![0] as Buffer).get(3)![0] as Buffer);
    assert.equal(text(query.get(4)![0]), 'dryRun');
    assert.equal(text(query.get(2)![0]), 'query');
    const gvk = (patch.get(13) as Buffer[]).map((b) => readFields(b)).find((e) => text(e.get(1)![0]) === 'x-kubernetes-group-version-kind')!;
    assert.deepEqual(load(text(readFields(gvk.get(2)![0] as Buffer).get(2)![0])), { group: 'holdfast.dev', kind: 'Project', version: 'v1alpha1' });
  });

  it('carries each definition as a named schema with its type, properties and group-version-kind', () => {
    const named = (readFields(top.get(9)![0] as Buffer).get(1) as Buffer[]).map((b) => readFields(b));
    assert.deepEqual(named.map((n) => text(n.get(1)![0])), ['dev.holdfast.v1alpha1.Project', 'dev.holdfast.v1alpha1.ProjectList']);
    const project = readFields(named[0].get(2)![0] as Buffer);
    assert.equal(text(readFields(project.get(22)![0] as Buffer).get(1)![0]), 'object', 'TypeItem');
    const properties = (readFields(project.get(25)![0] as Buffer).get(1) as Buffer[]).map((b) => text(readFields(b).get(1)![0]));
    assert.deepEqual([...properties].sort(), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    const extensions = (project.get(31) as Buffer[]).map((b) => readFields(b));
    const gvk = extensions.find((e) => text(e.get(1)![0]) === 'x-kubernetes-group-version-kind')!;
    const yamlText = text(readFields(gvk.get(2)![0] as Buffer).get(2)![0]);
    assert.deepEqual(load(yamlText), [{ group: 'holdfast.dev', kind: 'Project', version: 'v1alpha1' }]);
  });

  it('writes varints of several bytes', () => {
    const long = openApiV2Document([{ group: 'g.dev', version: 'v1', kind: 'K', plural: 'ks', namespaced: false, schema: { type: 'object', properties: { s: { type: 'string', maxLength: 300, description: 'x'.repeat(200) } } } }], 't', 'v');
    const defs = (readFields(readFields(encodeOpenApiV2(long)).get(9)![0] as Buffer).get(1) as Buffer[]).map((b) => readFields(b));
    const k = readFields(defs[0].get(2)![0] as Buffer);
    const s = readFields((readFields(k.get(25)![0] as Buffer).get(1) as Buffer[]).map((b) => readFields(b)).find((n) => text(n.get(1)![0]) === 's')!.get(2)![0] as Buffer);
    assert.equal(s.get(11)![0], 300);
    assert.equal(text(s.get(4)![0]).length, 200);
  });
});
