// The OpenAPI v2 document in the protocol-buffer form kubectl asks for first
// (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, the openapi.v2.Document message of
// gnostic's OpenAPIv2.proto): only the messages and fields a V2Document uses. Values the proto keeps
// as text (enums, vendor extensions) are YAML, as in that format. Pure.
import { dump } from 'js-yaml';
import type { V2Document, V2Operation, V2QueryParameter, V2Schema } from './v2.js';

/** What kubectl asks for. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What the answer says it is: the same with a dot, since Go's media-type parser refuses the `@`. */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const LENGTH_DELIMITED = 2;
const VARINT = 0;
const FIXED64 = 1;

/** A protobuf message under construction: fields appended in the order written. */
class Message {
  private readonly parts: Buffer[] = [];

  private tag(field: number, wireType: number) {
    this.parts.push(varint((field << 3) | wireType));
  }

  string(field: number, value: string | undefined): this {
    if (value === undefined || value === '') return this;
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  strings(field: number, values: readonly string[] | undefined): this {
    for (const v of values ?? []) this.bytes(field, Buffer.from(v, 'utf8'));
    return this;
  }

  message(field: number, value: Message | undefined): this {
    return value ? this.bytes(field, value.encode()) : this;
  }

  int64(field: number, value: number | undefined): this {
    if (value === undefined) return this;
    this.tag(field, VARINT);
    this.parts.push(varint(value));
    return this;
  }

  double(field: number, value: number | undefined): this {
    if (value === undefined) return this;
    this.tag(field, FIXED64);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b);
    return this;
  }

  bool(field: number, value: boolean | undefined): this {
    if (value === undefined) return this;
    this.tag(field, VARINT);
    this.parts.push(varint(value ? 1 : 0));
    return this;
  }

  private bytes(field: number, value: Buffer): this {
    this.tag(field, LENGTH_DELIMITED);
    this.parts.push(varint(value.length), value);
    return this;
  }

  encode(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A non-negative integer as a base-128 varint. */
function varint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a protobuf varint: ${n}`);
  const out: number[] = [];
  let rest = n;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** openapi.v2.Any: the value as YAML text (field 2). */
const anyValue = (value: unknown) => new Message().string(2, dump(value, { lineWidth: -1, noRefs: true }));

/** openapi.v2.NamedAny: name 1, value 2. */
const namedAny = (name: string, value: unknown) => new Message().string(1, name).message(2, anyValue(value));

/** openapi.v2.Schema, by its field numbers. */
function schemaMessage(s: V2Schema): Message {
  const m = new Message()
    .string(1, s.$ref)
    .string(2, s.format)
    .string(4, s.description)
    .double(7, s.maximum)
    .double(9, s.minimum)
    .int64(11, s.maxLength)
    .int64(12, s.minLength)
    .string(13, s.pattern)
    .int64(14, s.maxItems)
    .int64(15, s.minItems)
    .strings(19, s.required);
  for (const value of s.enum ?? []) m.message(20, anyValue(value));
  if (s.additionalProperties !== undefined) {
    // AdditionalPropertiesItem: schema 1 or boolean 2.
    const item = typeof s.additionalProperties === 'boolean' ? new Message().bool(2, s.additionalProperties) : new Message().message(1, schemaMessage(s.additionalProperties));
    m.message(21, item);
  }
  if (s.type) m.message(22, new Message().strings(1, [s.type])); // TypeItem
  if (s.items) m.message(23, new Message().message(1, schemaMessage(s.items))); // ItemsItem
  if (s.properties) m.message(25, namedSchemas(s.properties)); // Properties
  for (const [key, value] of Object.entries(s)) if (key.startsWith('x-')) m.message(31, namedAny(key, value));
  return m;
}

/** Properties / Definitions: repeated NamedSchema (name 1, value 2) in field 1. */
function namedSchemas(schemas: Record<string, V2Schema>): Message {
  const m = new Message();
  for (const [name, schema] of Object.entries(schemas)) m.message(1, new Message().string(1, name).message(2, schemaMessage(schema)));
  return m;
}

/** ParametersItem(parameter 1) → Parameter(non_body_parameter 2) → NonBodyParameter(query 3) → QueryParameterSubSchema. */
function queryParameter(p: V2QueryParameter): Message {
  const query = new Message().string(2, p.in).string(3, p.description).string(4, p.name).string(6, p.type);
  return new Message().message(1, new Message().message(2, new Message().message(3, query)));
}

/** openapi.v2.Operation: operation_id 5, parameters 8, vendor_extension 13. */
function operationMessage(op: V2Operation): Message {
  const m = new Message().string(5, op.operationId);
  for (const p of op.parameters) m.message(8, queryParameter(p));
  m.message(13, namedAny('x-kubernetes-action', op['x-kubernetes-action']));
  m.message(13, namedAny('x-kubernetes-group-version-kind', op['x-kubernetes-group-version-kind']));
  return m;
}

/** Paths: repeated NamedPathItem (name 1, PathItem 2) in field 2; PathItem: patch 8. */
function pathsMessage(paths: V2Document['paths']): Message {
  const m = new Message();
  for (const [path, item] of Object.entries(paths)) m.message(2, new Message().string(1, path).message(2, new Message().message(8, operationMessage(item.patch))));
  return m;
}

/** openapi.v2.Document: swagger 1, info 2 (title 1, version 2), paths 8, definitions 9. */
export function encodeOpenApiV2(doc: V2Document): Buffer {
  return new Message()
    .string(1, doc.swagger)
    .message(2, new Message().string(1, doc.info.title).string(2, doc.info.version))
    .message(8, pathsMessage(doc.paths))
    .message(9, namedSchemas(doc.definitions))
    .encode();
}
