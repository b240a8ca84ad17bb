// Each CRD in crds/ must install unchanged into a Kubernetes cluster. These checks follow the rules
// the apiextensions API server applies (structural schemas, list types, metadata, defaults), so a
// schema edit that a cluster would refuse fails here first.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { load } from 'js-yaml';
import { GROUP, KINDS, VERSION } from '../../../core/resource.js';
import { toAjvSchema } from '../../../core/schema/convert.js';
import { packageRoot } from '../../../core/package-root.js';
import type { K8sSchema } from '../../../core/schema/load.js';

const root = packageRoot();

/** Every field of apiextensions.k8s.io/v1 JSONSchemaProps; anything else fails strict decoding. */
const SCHEMA_FIELDS = new Set([
  'id', '$schema', '$ref', 'description', 'type', 'format', 'title', 'default', 'maximum', 'exclusiveMaximum',
  'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems',
  'multipleOf', 'enum', 'maxProperties', 'minProperties', 'required', 'items', 'allOf', 'oneOf', 'anyOf', 'not',
  'properties', 'additionalProperties', 'patternProperties', 'dependencies', 'additionalItems', 'definitions',
  'externalDocs', 'example', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
/** Accepted by the CRD validator but not by Holdfast's schemas (not structural, or quadratic). */
const FORBIDDEN_FIELDS = ['$ref', 'id', '$schema', 'definitions', 'patternProperties', 'dependencies', 'additionalItems'];
/** Not allowed inside allOf/anyOf/oneOf/not of a structural schema. */
const FORBIDDEN_IN_JUNCTORS = [
  'type', 'description', 'default', 'additionalProperties', 'nullable', 'title',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys', 'x-kubernetes-list-type',
];
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
/** Formats the Kubernetes OpenAPI validator knows. */
const K8S_FORMATS = new Set([
  'bsonobjectid', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'cidr', 'mac', 'uuid', 'uuid3', 'uuid4', 'uuid5',
  'isbn', 'isbn10', 'isbn13', 'creditcard', 'ssn', 'hexcolor', 'rgbcolor', 'byte', 'password', 'date', 'duration',
  'datetime', 'date-time', 'int32', 'int64', 'float', 'double',
]);
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;

const ajv = new AjvModule.default({ strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true });
addFormatsModule.default(ajv);

type Node = K8sSchema;

/** Problems of a schema node that sits inside a junctor, where only value validation may appear. */
function junctorProblems(node: Node, path: string, outside: Node): string[] {
  const problems: string[] = [];
  for (const key of FORBIDDEN_IN_JUNCTORS) {
    if (key in node) problems.push(`${path}.${key}: must not be set inside a junctor to be structural`);
  }
  for (const [name, sub] of Object.entries(node.properties ?? {})) {
    if (name === 'metadata') problems.push(`${path}.properties.metadata: must not be specified in a nested context`);
    const declared = outside.properties?.[name];
    if (!declared) problems.push(`${path}.properties.${name}: must also be declared outside the junctor`);
    else problems.push(...junctorProblems(sub, `${path}.properties.${name}`, declared));
  }
  if (node.items) {
    if (!outside.items) problems.push(`${path}.items: must also be declared outside the junctor`);
    else problems.push(...junctorProblems(node.items, `${path}.items`, outside.items));
  }
  for (const j of JUNCTORS) (node[j] ?? []).forEach((b, i) => problems.push(...junctorProblems(b, `${path}.${j}[${i}]`, outside)));
  if (node.not) problems.push(...junctorProblems(node.not, `${path}.not`, outside));
  return problems;
}

/** Problems of a schema node, as the apiextensions validation would report them. */
function schemaProblems(node: Node, path: string, level: 'root' | 'field' | 'item' | 'value'): string[] {
  const problems: string[] = [];
  const add = (message: string) => problems.push(`${path}: ${message}`);

  for (const key of Object.keys(node)) if (!SCHEMA_FIELDS.has(key)) add(`unknown schema field ${key}`);
  for (const key of FORBIDDEN_FIELDS) if (key in node) add(`${key} is not allowed`);
  if (node.uniqueItems === true) add('uniqueItems cannot be true');

  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'];
  if (preserve !== undefined && preserve !== true) add('x-kubernetes-preserve-unknown-fields must be true or undefined');
  if (intOrString && preserve) add('int-or-string cannot preserve unknown fields');
  if (node.type === undefined) {
    if (!intOrString && !preserve) add('type must not be empty');
  } else if (typeof node.type !== 'string' || !TYPES.has(node.type)) {
    add(`type ${JSON.stringify(node.type)} is not one of ${[...TYPES].join(', ')}`);
  }
  if (level === 'root' && node.type !== 'object') add('type must be object at the root');
  // Fields and object-shaped entries describe themselves; a list of strings needs no word per string.
  if ((level === 'field' || node.type === 'object') && level !== 'root' && !node.description) add('description is missing');

  if (node.type === 'array' && (typeof node.items !== 'object' || Array.isArray(node.items))) add('items must be one schema');
  if (node.additionalProperties !== undefined) {
    if (level === 'root') add('additionalProperties must not be used at the root');
    if (typeof node.additionalProperties !== 'object') add('additionalProperties must be a schema, not a boolean');
    if (node.properties) add('additionalProperties and properties are mutually exclusive');
  }
  if (node.format !== undefined && !K8S_FORMATS.has(node.format)) add(`format ${node.format} is unknown to Kubernetes`);
  if (node.pattern !== undefined) {
    try {
      new RegExp(node.pattern, 'u');
    } catch (error) {
      add(`pattern does not compile: ${String(error)}`);
    }
    // Kubernetes evaluates patterns with Go's RE2: no lookaround, no backreferences.
    if (/\(\?[=!<]|\\[1-9]/.test(node.pattern)) add('pattern uses a feature RE2 lacks');
  }

  const listType = node['x-kubernetes-list-type'];
  const mapKeys = node['x-kubernetes-list-map-keys'];
  if (listType !== undefined && !['atomic', 'set', 'map'].includes(listType)) add(`list type ${listType} is not supported`);
  if (listType !== undefined && node.type !== 'array') add('x-kubernetes-list-type needs type array');
  if (mapKeys && listType !== 'map') add('x-kubernetes-list-map-keys needs x-kubernetes-list-type map');
  if (listType === 'map') {
    const items = node.items;
    if (!mapKeys?.length) add('a map list needs x-kubernetes-list-map-keys');
    if (items?.type !== 'object') add('items of a map list must be objects');
    for (const key of mapKeys ?? []) {
      const keySchema = items?.properties?.[key];
      if (!keySchema) add(`map key ${key} is not a property of the items`);
      else if (keySchema.type === 'object' || keySchema.type === 'array') add(`map key ${key} must be scalar`);
      else if (!items?.required?.includes(key) && keySchema.default === undefined) add(`map key ${key} must be required or defaulted`);
    }
  }
  if (listType === 'set' && (node.items?.type === 'object' || node.items?.type === 'array')) add('items of a set must be scalars');

  if (node.default !== undefined) {
    const check = ajv.compile(toAjvSchema(node));
    if (!check(node.default)) add(`default ${JSON.stringify(node.default)} does not validate: ${ajv.errorsText(check.errors)}`);
  }

  for (const [name, sub] of Object.entries(node.properties ?? {})) {
    problems.push(...schemaProblems(sub, `${path}.properties.${name}`, 'field'));
  }
  if (node.items && typeof node.items === 'object') problems.push(...schemaProblems(node.items, `${path}.items`, 'item'));
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    problems.push(...schemaProblems(node.additionalProperties, `${path}.additionalProperties`, 'value'));
  }
  for (const j of JUNCTORS) (node[j] ?? []).forEach((b, i) => problems.push(...junctorProblems(b, `${path}.${j}[${i}]`, node)));
  if (node.not) problems.push(...junctorProblems(node.not, `${path}.not`, node));
  return problems;
}

/** The rules for the top of a resource schema: apiVersion, kind and metadata. */
function rootProblems(schema: Node): string[] {
  const problems = schemaProblems(schema, 'openAPIV3Schema', 'root');
  const properties = schema.properties ?? {};
  for (const name of ['apiVersion', 'kind']) {
    if (properties[name]?.type !== 'string') problems.push(`properties.${name}: must be a string`);
  }
  // Only `type: object` (and restrictions on name) may be said about metadata; a description too is refused.
  if (properties.metadata && JSON.stringify(properties.metadata) !== JSON.stringify({ type: 'object' })) {
    problems.push('properties.metadata: must be exactly {type: object}');
  }
  for (const name of ['apiVersion', 'kind', 'metadata']) {
    if (properties[name]?.default !== undefined) problems.push(`properties.${name}: must not have a default`);
  }
  // schemaProblems asks for a description on every field; metadata cannot have one.
  return problems.filter((p) => p !== 'openAPIV3Schema.properties.metadata: description is missing');
}

const crdFiles = readdirSync(join(root, 'crds')).filter((f) => f.endsWith('.yaml')).sort();

describe('crds/', () => {
  it('has one CRD per kind with a spec, and nothing else', () => {
    const expected = KINDS.filter((k) => k.hasSpec).map((k) => `${k.singular}.yaml`).sort();
    assert.deepEqual(crdFiles, expected);
  });

  for (const file of crdFiles) {
    const crd = load(readFileSync(join(root, 'crds', file), 'utf8')) as Record<string, any>;
    const info = KINDS.find((k) => `${k.singular}.yaml` === file)!;

    describe(file, () => {
      it('is an apiextensions.k8s.io/v1 CustomResourceDefinition with the names of core/resource.ts', () => {
        assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
        assert.equal(crd.kind, 'CustomResourceDefinition');
        assert.deepEqual(Object.keys(crd).sort(), ['apiVersion', 'kind', 'metadata', 'spec']);
        assert.equal(crd.metadata.name, `${info.plural}.${GROUP}`);
        assert.equal(crd.spec.group, GROUP);
        assert.equal(crd.spec.scope, info.namespaced ? 'Namespaced' : 'Cluster');
        assert.deepEqual(crd.spec.names, {
          kind: info.kind,
          listKind: `${info.kind}List`,
          plural: info.plural,
          singular: info.singular,
          ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
        });
        assert.equal(basename(file, '.yaml'), info.singular);
      });

      it(`serves and stores ${VERSION} with a status subresource and printer columns`, () => {
        assert.equal(crd.spec.versions.length, 1);
        const [version] = crd.spec.versions;
        assert.equal(version.name, VERSION);
        assert.equal(version.served, true);
        assert.equal(version.storage, true);
        assert.deepEqual(version.subresources, { status: {} });
        const columns = version.additionalPrinterColumns as Array<Record<string, unknown>>;
        assert.ok(columns.length >= 2);
        assert.equal(new Set(columns.map((c) => c.name)).size, columns.length, 'column names are unique');
        for (const column of columns) {
          for (const key of Object.keys(column)) {
            assert.ok(['name', 'type', 'format', 'description', 'priority', 'jsonPath'].includes(key), key);
          }
          assert.ok(['integer', 'number', 'string', 'boolean', 'date'].includes(column.type as string), String(column.type));
          assert.match(column.jsonPath as string, /^\.(metadata|spec|status)\./);
        }
      });

      it('has a structural openAPIV3Schema that Kubernetes accepts', () => {
        assert.deepEqual(rootProblems(crd.spec.versions[0].schema.openAPIV3Schema), []);
      });

      it('declares spec and status', () => {
        const schema = crd.spec.versions[0].schema.openAPIV3Schema;
        assert.equal(schema.properties.spec.type, 'object');
        assert.equal(schema.properties.status.type, 'object');
        assert.equal(schema.properties.status.properties.observedGeneration.type, 'integer');
        const condition = schema.properties.status.properties.conditions.items;
        assert.deepEqual(condition.required, ['type', 'status', 'reason', 'message', 'lastTransitionTime']);
        assert.deepEqual(condition.properties.status.enum, ['True', 'False', 'Unknown']);
      });
    });
  }
});

describe('core/schema/event.yaml', () => {
  it('is a structural schema in the CRD form', () => {
    const event = load(readFileSync(join(root, 'core', 'schema', 'event.yaml'), 'utf8')) as { schema: { openAPIV3Schema: Node } };
    assert.deepEqual(rootProblems(event.schema.openAPIV3Schema), []);
  });
});

describe('the structural checks themselves', () => {
  const cases: Array<{ name: string; schema: Node; expect: RegExp }> = [
    { name: 'missing type', schema: { type: 'object', properties: { a: { description: 'x' } } }, expect: /type must not be empty/ },
    {
      name: 'additionalProperties false',
      schema: { type: 'object', properties: { a: { type: 'object', description: 'x', additionalProperties: false } } },
      expect: /must be a schema, not a boolean/,
    },
    {
      name: 'type inside oneOf',
      schema: { type: 'object', properties: { a: { type: 'string', description: 'x' } }, oneOf: [{ type: 'object', required: ['a'] }] },
      expect: /oneOf\[0\]\.type: must not be set inside a junctor/,
    },
    {
      name: 'junctor names an undeclared field',
      schema: { type: 'object', anyOf: [{ required: ['a'], properties: { a: { enum: ['x'] } } }] },
      expect: /properties\.a: must also be declared outside/,
    },
    {
      name: 'metadata with a description',
      schema: { type: 'object', properties: { metadata: { type: 'object', description: 'no' } } },
      expect: /must be exactly \{type: object\}/,
    },
    {
      name: 'map list key neither required nor defaulted',
      schema: {
        type: 'object',
        properties: {
          a: {
            type: 'array',
            description: 'x',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['k'],
            items: { type: 'object', description: 'x', properties: { k: { type: 'string', description: 'x' } } },
          },
        },
      },
      expect: /map key k must be required or defaulted/,
    },
    { name: '$ref', schema: { type: 'object', $ref: '#/x' }, expect: /\$ref is not allowed/ },
    {
      name: 'default that fails its own schema',
      schema: { type: 'object', properties: { a: { type: 'integer', description: 'x', minimum: 1, default: 0 } } },
      expect: /default 0 does not validate/,
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const problems = rootProblems(c.schema);
      assert.ok(problems.some((p) => c.expect.test(p)), problems.join('\n') || 'no problem reported');
    });
  }
});
