// Turns ajv's errors into field causes a person understands: Kubernetes field paths
// (`spec.ports[0].hostPort`), what was expected, what was given, and a guess for misspelt names.

import type { ErrorObject } from 'ajv';
import type { FieldCause } from '../errors.js';
import { dns1123LabelMessage, DNS1123_LABEL_PATTERN } from './names.js';

type Schema = Record<string, unknown>;

export interface RenderOptions {
  /** True for fields whose values must never be echoed (write-only secrets). */
  hideValue?: (field: string) => boolean;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `/spec/ports/0/hostPort` → `spec.ports[0].hostPort`; keys that are not identifiers go in brackets. */
export function fieldPath(segments: string[], root: unknown): string {
  let out = '';
  let current: unknown = root;
  for (const segment of segments) {
    if (Array.isArray(current) || !IDENTIFIER.test(segment)) out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
    current = isPlainObject(current) || Array.isArray(current) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return out;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Edit distance counting a swap of two neighbouring letters as one edit (a common typo). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word`, if it is close enough to be a likely typo. */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const tolerance = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDistance <= tolerance ? best : undefined;
}

export function describeValue(value: unknown, hidden = false): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (hidden) return 'a hidden value';
  if (typeof value === 'string') return JSON.stringify(value.length > 70 ? `${value.slice(0, 67)}...` : value);
  return String(value);
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

function orList(words: string[], conjunction = 'or'): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1]}`;
}

function rangeText(schema: Schema): string | undefined {
  const min = schema.minimum as number | undefined;
  const max = schema.maximum as number | undefined;
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  if (min !== undefined) return `>= ${min}`;
  if (max !== undefined) return `<= ${max}`;
  return undefined;
}

function expectedType(schema: Schema): string {
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  let text = orList(types.map((t) => TYPE_WORDS[t] ?? t));
  const range = rangeText(schema);
  if (range && types.some((t) => t === 'integer' || t === 'number')) text += ` ${range}`;
  if (Array.isArray(schema.enum)) text += `: one of ${orList(schema.enum.map((v) => JSON.stringify(v)))}`;
  return text;
}

/** Plain-language descriptions of the patterns the CRDs use; others are shown as the expression. */
const PATTERN_TEXT: Record<string, string> = {
  '^/': 'must be an absolute path (starting with "/")',
  '^SHA256:[A-Za-z0-9+/]{43}=?$':
    'must be a SHA256 host key fingerprint as `ssh-keygen -lf` prints it: "SHA256:" and 43 base64 characters',
  '^[A-Za-z0-9:]([-A-Za-z0-9.:]*[A-Za-z0-9])?$': 'must be a DNS name or an IP address',
  '^[A-Za-z_][A-Za-z0-9_.-]*$': 'must be a user name: letters, digits, "_", "." and "-", not starting with a digit',
  '^[A-Za-z0-9][A-Za-z0-9._/:@-]*$': 'must be an image reference such as registry.example/web:1.4.2 (no spaces)',
  '^[-._a-zA-Z][-._a-zA-Z0-9]*$':
    'must be an environment variable name: letters, digits, "_", "-" and ".", not starting with a digit',
  '^[-._a-zA-Z0-9]+$': 'must be a key of letters, digits, "-", "_" and "."',
  '^[0-9]+(\\.[0-9]+)?([kKmMgGtT]i?|[bB])?$': 'must be a number of bytes or a size such as 512m, 1g or 256Mi',
  '^[0-9A-Fa-f.:]+$': 'must be an IPv4 or IPv6 address',
  '^(https?://|ssh://|git://|file://|git@|/)[^\\s]+$':
    'must be a git URL (https://, ssh://, git://, file:// or git@host:path) or an absolute path, without spaces',
  '^[A-Za-z0-9._/-]+$': 'must be a git branch, tag or commit: letters, digits, ".", "_", "/" and "-"',
  '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9*/,-]+( +[0-9A-Za-z*/,?-]+){4})$':
    'must be a cron schedule of five fields (minute hour day-of-month month day-of-week) such as "0 3 * * *", or @hourly, @daily, @weekly, @monthly or @yearly',
  '^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----': 'must be a private key in OpenSSH or PEM form (-----BEGIN ... PRIVATE KEY-----)',
  '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$': 'must be a CamelCase word of letters and digits, e.g. DeploymentStarted',
};

const FORMAT_TEXT: Record<string, string> = {
  'date-time': 'an RFC 3339 date-time such as 2024-05-01T12:00:00Z',
  byte: 'base64-encoded data',
  int32: 'a 32-bit integer',
  int64: 'a 64-bit integer',
};

interface JunctorBranch {
  required?: string[];
  properties?: Record<string, { enum?: unknown[] }>;
}

/** The field each branch requires, when every branch is just `required: [field]`. */
function singleFieldChoices(branches: JunctorBranch[]): string[] | undefined {
  const fields = branches.map((b) => (Object.keys(b).length === 1 && b.required?.length === 1 ? b.required[0] : undefined));
  return fields.every((f): f is string => f !== undefined) ? fields : undefined;
}

/** Describes a branch like `{required: [kind], properties: {kind: {enum: [local]}}}` as `spec.kind is "local"`. */
function conditionText(branch: JunctorBranch, base: string[], root: unknown): string | undefined {
  const entries = Object.entries(branch.properties ?? {});
  if (entries.length === 0 || entries.some(([, s]) => !Array.isArray(s.enum))) return undefined;
  return entries
    .map(([name, s]) => {
      const values = s.enum!.map((v) => JSON.stringify(v));
      const field = fieldPath([...base, name], root);
      return values.length === 1 ? `${field} is ${values[0]}` : `${field} is one of ${orList(values)}`;
    })
    .join(' and ');
}

function junctorCauses(error: ErrorObject, base: string[], root: unknown): FieldCause[] {
  const field = fieldPath(base, root);
  const data = error.data;
  const present = (name: string) => isPlainObject(data) && data[name] !== undefined;

  if (error.keyword === 'oneOf') {
    const choices = singleFieldChoices(error.schema as JunctorBranch[]);
    if (choices) {
      const set = choices.filter(present);
      return [
        set.length === 0
          ? { field, message: `must set exactly one of ${orList(choices)} (none is set)`, reason: 'FieldValueRequired' }
          : {
              field,
              message: `must set exactly one of ${orList(choices)} (${orList(set, 'and')} are set)`,
              reason: 'FieldValueInvalid',
            },
      ];
    }
    return [{ field, message: 'must match exactly one of the allowed forms', reason: 'FieldValueInvalid' }];
  }

  if (error.keyword === 'anyOf') {
    const branches = error.schema as JunctorBranch[];
    const requiring = branches.filter((b) => Object.keys(b).length === 1 && b.required);
    const conditions = branches.filter((b) => !requiring.includes(b)).map((b) => conditionText(b, base, root));
    if (requiring.length === 1 && conditions.every((c) => c !== undefined)) {
      const unless = conditions.length > 0 ? ` unless ${conditions.join(' or ')}` : '';
      return requiring[0]
        .required!.filter((name) => !present(name))
        .map((name) => ({ field: fieldPath([...base, name], root), message: `required${unless}`, reason: 'FieldValueRequired' }));
    }
    return [{ field, message: 'must match at least one of the allowed forms', reason: 'FieldValueInvalid' }];
  }

  // `not: {required: [a, b]}`: the fields exclude each other.
  const excluded = (error.schema as JunctorBranch).required;
  if (excluded && excluded.length > 1) {
    const which = excluded.length === 2 ? `both ${excluded[0]} and ${excluded[1]}` : `all of ${orList(excluded, 'and')}`;
    return [{ field, message: `must not set ${which}`, reason: 'FieldValueForbidden' }];
  }
  return [{ field, message: 'is not allowed in this form', reason: 'FieldValueForbidden' }];
}

function patternMessage(error: ErrorObject, got: string): string {
  const pattern = (error.params as { pattern: string }).pattern;
  return `${PATTERN_TEXT[pattern] ?? `must match the regular expression ${pattern}`} (got ${got})`;
}

const STRING_KEYWORDS = new Set(['pattern', 'minLength', 'maxLength']);

/**
 * Fields users bring from Kubernetes and Compose, and the field that says the same here: suggested
 * when the unknown field is one of them and its counterpart is a field of the same object.
 */
const FIELD_ALIASES: Record<string, string> = {
  readinessProbe: 'healthcheck',
  livenessProbe: 'healthcheck',
  startupProbe: 'healthcheck',
  image: 'source',
  restart: 'restartPolicy',
  environmentVariables: 'env',
  environment: 'env',
};

function keywordCause(error: ErrorObject, segments: string[], root: unknown, opts: RenderOptions): FieldCause[] {
  const field = fieldPath(segments, root);
  const schema = (error.parentSchema ?? {}) as Schema;
  const got = describeValue(error.data, opts.hideValue?.(field) ?? false);
  const params = error.params as Record<string, unknown>;
  const at = (message: string, reason: string, where = field): FieldCause[] => [{ field: where, message, reason }];

  // One message for a name or reference, whether its length or its characters are wrong.
  if (STRING_KEYWORDS.has(error.keyword) && schema.pattern === DNS1123_LABEL_PATTERN && typeof error.data === 'string') {
    return at(dns1123LabelMessage(error.data) ?? 'must be a DNS-1123 label', 'FieldValueInvalid');
  }

  switch (error.keyword) {
    case 'additionalProperties': {
      const name = params.additionalProperty as string;
      const known = Object.keys((schema.properties as Schema | undefined) ?? {});
      const alias = FIELD_ALIASES[name];
      const guess = alias && known.includes(alias) ? alias : closestMatch(name, known);
      const hint = guess ? ` (did you mean "${guess}"?)` : known.length <= 8 ? ` (known fields: ${known.join(', ')})` : '';
      return at(`unknown field${hint}`, 'FieldValueInvalid', fieldPath([...segments, name], root));
    }
    case 'required': {
      const missing = params.missingProperty as string;
      // A missing object says what it must hold, so one run shows everything to write.
      const inner = ((schema.properties as Record<string, Schema> | undefined)?.[missing]?.required as string[] | undefined) ?? [];
      const hint = inner.length ? ` (it must set ${orList(inner, 'and')})` : '';
      return at(`required${hint}`, 'FieldValueRequired', fieldPath([...segments, missing], root));
    }
    case 'type': {
      let hint = '';
      if (typeof error.data === 'boolean' && Array.isArray(schema.enum) && schema.enum.includes(error.data ? 'yes' : 'no')) {
        hint = `; write "${error.data ? 'yes' : 'no'}" in quotes`;
      }
      return at(`must be ${expectedType(schema)} (got ${got}${hint})`, 'FieldValueTypeInvalid');
    }
    case 'enum': {
      const values = (schema.enum as unknown[]).map((v) => JSON.stringify(v));
      const guess =
        typeof error.data === 'string'
          ? closestMatch(error.data, (schema.enum as unknown[]).filter((v): v is string => typeof v === 'string'))
          : undefined;
      return at(
        `must be one of ${orList(values)} (got ${got}${guess ? `; did you mean "${guess}"?` : ''})`,
        'FieldValueNotSupported',
      );
    }
    case 'pattern':
      return at(patternMessage(error, got), 'FieldValueInvalid');
    case 'minimum':
    case 'maximum':
      return at(`must be ${rangeText(schema)} (got ${got})`, 'FieldValueInvalid');
    case 'minLength':
      return at(
        params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters long`,
        'FieldValueInvalid',
      );
    case 'maxLength':
      return at(
        `must be at most ${params.limit} characters long (got ${typeof error.data === 'string' ? error.data.length : '?'})`,
        'FieldValueTooLong',
      );
    case 'minItems':
      return at(params.limit === 1 ? 'must list at least one item' : `must list at least ${params.limit} items`, 'FieldValueRequired');
    case 'maxItems':
      return at(`must list at most ${params.limit} items`, 'FieldValueTooMany');
    case 'uniqueItems': {
      const later = Math.max(params.i as number, params.j as number);
      const earlier = Math.min(params.i as number, params.j as number);
      return at(`duplicate of ${field}[${earlier}]`, 'FieldValueDuplicate', `${field}[${later}]`);
    }
    case 'format': {
      const format = params.format as string;
      return at(`must be ${FORMAT_TEXT[format] ?? `a valid ${format}`} (got ${got})`, 'FieldValueInvalid');
    }
    case 'oneOf':
    case 'anyOf':
    case 'not':
      return junctorCauses(error, segments, root);
    default:
      return at(error.message ?? 'is invalid', 'FieldValueInvalid');
  }
}

const INSIDE_JUNCTOR = /\/(oneOf|anyOf|allOf)\/\d+\/|\/not\//;

/**
 * Renders ajv errors (from a validator compiled with `allErrors` and `verbose`) as field causes.
 * Errors from inside oneOf/anyOf/not branches are dropped in favour of one message about the
 * choice; a wrong type at a path hides the other complaints about that path.
 */
export function causesFromAjvErrors(errors: ErrorObject[], root: unknown, opts: RenderOptions = {}): FieldCause[] {
  const typeErrorAt = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const causes: FieldCause[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (INSIDE_JUNCTOR.test(error.schemaPath)) continue;
    if (error.keyword !== 'type' && typeErrorAt.has(error.instancePath)) continue;
    for (const cause of keywordCause(error, pointerSegments(error.instancePath), root, opts)) {
      const key = `${cause.field}\u0000${cause.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      causes.push(cause);
    }
  }
  return causes;
}
