// Every API response passes the redactor on its way out: JSON bodies (objects, lists, Status errors)
// are redacted structurally, so they stay valid JSON; text bodies and streamed chunks (watch lines,
// deployment logs) as text. Binary bodies (static dashboard files) carry no secrets and pass unchanged.
//
// A resource's apiVersion, kind, spec and metadata (annotations aside) are what a client declared and
// never hold a resolved secret value (Services reference Secrets; Secrets keep only hashes): they
// pass unredacted, so that a dry run cannot be used to ask the redactor whether a guessed value is
// some Secret's, and a stored value cannot mask the API's own fields. Status, events, messages and
// errors, where resolved values can reach, are redacted.
import type { NextFunction, Request, Response } from 'express';
import { API_VERSION, GROUP, KINDS, kindInfo, VERSION } from '../core/resource.js';
import { loadSchemaSources, type K8sSchema } from '../core/schema/load.js';
import type { Redactor } from '../security/redactor.js';
import { ALL_SCOPES } from '../security/scopes.js';

export function redactResponses(redactor: Redactor) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const json = res.json.bind(res);
    const send = res.send.bind(res);
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => Response;
    // res.json ends in res.send, and res.send in res.end, with what was already redacted.
    let inJson = false;
    let inSend = false;
    const text = (chunk: unknown, skip: boolean) => (typeof chunk === 'string' && !skip ? redactor.redactText(chunk) : chunk);
    res.json = (body: unknown) => {
      inJson = true;
      try {
        return json(redactBody(redactor, body));
      } finally {
        inJson = false;
      }
    };
    res.send = (body?: unknown) => {
      const redacted = text(body, inJson);
      inSend = true;
      try {
        return send(redacted);
      } finally {
        inSend = false;
      }
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => write(text(chunk, false), ...rest)) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => end(text(chunk, inSend), ...rest)) as typeof res.end;
    next();
  };
}

/**
 * Sends a JSON body past the redactor: for the one answer that hands a caller a secret it just made
 * (a new TOTP secret), which every other response and log line masks.
 */
export function sendUnredacted(res: Response, body: unknown): void {
  res.type('application/json').end(Buffer.from(JSON.stringify(body)));
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A stored resource of a kind with a spec (an Event, a deployment record or a Status is not). */
const isResource = (v: Json) => v.apiVersion === API_VERSION && typeof v.kind === 'string' && kindInfo(v.kind)?.hasSpec === true && isObject(v.metadata);

/** A response body redacted where secret values can reach, its declared parts left as they are. */
export function redactBody(redactor: Redactor, body: unknown): unknown {
  if (!isObject(body)) return redactor.redact(body);
  // Most bodies hold no known value anywhere: one search of their JSON text says so, where the walk
  // below searches every string of them (a deployment record is hundreds). JSON escapes a string
  // character by character, and the redactor searches for each value's JSON-escaped form too.
  if (!redactor.mentionsAny(JSON.stringify(body))) return body;
  const declared = isResource(body);
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (declared && (key === 'apiVersion' || key === 'kind' || key === 'spec')) out[key] = value;
    else if (declared && key === 'metadata') out[key] = redactMetadata(redactor, value as Json);
    else if (key === 'items' && Array.isArray(value)) out[key] = value.map((item) => redactBody(redactor, item));
    else if (key === 'object' && isObject(value)) out[key] = redactBody(redactor, value);
    else out[redactor.redactText(key)] = redactor.redact(value);
  }
  return out;
}

function redactMetadata(redactor: Redactor, metadata: Json): Json {
  return metadata.annotations === undefined ? metadata : { ...metadata, annotations: redactor.redact(metadata.annotations) };
}

/**
 * Words the API emits itself, which no secret value may mask: the group and versions, kinds and
 * their names, every field name and enum value of the schemas, the scopes, and the words of the
 * Kubernetes wire format and of HTTP authentication.
 */
export function apiVocabulary(): string[] {
  const words = new Set<string>([API_VERSION, GROUP, VERSION, ...ALL_SCOPES, ...WIRE_WORDS]);
  for (const k of KINDS) for (const w of [k.kind, `${k.kind}List`, k.plural, k.singular, ...k.shortNames]) words.add(w);
  const visit = (schema: K8sSchema | undefined) => {
    if (!schema || typeof schema !== 'object') return;
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      words.add(name);
      visit(child);
    }
    for (const value of schema.enum ?? []) if (typeof value === 'string') words.add(value);
    if (typeof schema.additionalProperties === 'object') visit(schema.additionalProperties);
    visit(schema.items);
    for (const list of [schema.oneOf, schema.anyOf, schema.allOf]) for (const s of list ?? []) visit(s);
  };
  const sources = loadSchemaSources();
  for (const schema of sources.schemas.values()) visit(schema);
  visit(sources.objectMeta);
  return [...words];
}

const WIRE_WORDS = [
  'apiVersion', 'metadata', 'items', 'continue', 'resourceVersion', 'selfLink', 'remainingItemCount',
  'Status', 'Success', 'Failure', 'details', 'causes', 'reason', 'message', 'code', 'field',
  'BadRequest', 'Invalid', 'NotFound', 'AlreadyExists', 'Conflict', 'Unauthorized', 'Forbidden', 'MethodNotAllowed',
  'UnsupportedMediaType', 'RequestEntityTooLarge', 'TooManyRequests', 'Gone', 'Timeout', 'ServiceUnavailable', 'InternalError',
  'FieldValueInvalid', 'FieldValueRequired', 'FieldValueNotSupported', 'FieldValueDuplicate', 'FieldValueTooLong',
  'ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR',
  'APIResourceList', 'APIGroup', 'APIGroupList', 'APIVersions', 'groupVersion', 'preferredVersion', 'versions', 'resources',
  'namespaced', 'singularName', 'shortNames', 'categories', 'verbs', 'storageVersionHash', 'serverAddressByClientCIDRs',
  'Table', 'TableOptions', 'PartialObjectMetadata', 'PartialObjectMetadataList', 'meta.k8s.io', 'meta.k8s.io/v1', 'columnDefinitions', 'rows', 'cells', 'object',
  'create', 'update', 'patch', 'delete', 'deletecollection', 'watch', 'get', 'list',
  'Bearer', 'Basic', 'Authorization', 'WWW-Authenticate', 'application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json',
  'true', 'false', 'null', 'Normal', 'Warning', 'Ready', 'Progressing', 'Degraded', 'Available', 'Unknown',
];
