// Turns a view (declared spec, frozen input, live observation) into field rows that can be shown
// side by side and matched against drift entries. Secret values never reach a row: a value that
// carries a `secretHash` becomes a masked row, compared with its counterpart only by that hash.
// Pure.
import { UNHASHED } from '../../../core/deploy/normalise-live.js';
import type { DriftEntry } from '../api/types.js';

export interface FieldRow {
  /** `containers[0].env.GREETING.value` */
  path: string;
  /** What to show; never a secret or its hash. */
  display: string;
  /** Set for a secret value: the hash to compare with (not shown), and what it refers to. */
  secret?: { hash?: string; ref?: string };
}

export const MASK = '••••••';

type Json = unknown;

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A frozen or live environment value from a Secret: `{secretRef: {name, key}, secretHash}`. */
function secretOf(v: Json): FieldRow['secret'] | undefined {
  if (!isRecord(v) || typeof v.secretHash !== 'string') return undefined;
  const ref = isRecord(v.secretRef) ? `${String(v.secretRef.name)}/${String(v.secretRef.key)}` : typeof v.name === 'string' && typeof v.key === 'string' ? `${v.name}/${v.key}` : undefined;
  return { hash: v.secretHash, ...(ref ? { ref } : {}) };
}

function display(v: Json): string {
  if (typeof v === 'string') return v;
  if (v === null) return 'null';
  return JSON.stringify(v);
}

/** Keys shown before the others, in this order: what names a thing, then what runs. */
const FIRST_KEYS = ['name', 'containers'];

/** Stored objects come back with their keys in no useful order: FIRST_KEYS, then A to Z. */
function byFieldOrder(a: string, b: string): number {
  const ra = FIRST_KEYS.indexOf(a);
  const rb = FIRST_KEYS.indexOf(b);
  if (ra >= 0 || rb >= 0) return (ra < 0 ? FIRST_KEYS.length : ra) - (rb < 0 ? FIRST_KEYS.length : rb);
  return a < b ? -1 : a > b ? 1 : 0;
}

const text = (v: Json) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * How list items are named in paths, as the drift engine names them: a port by number and protocol,
 * a mount by its target, a network by its name (`ports[8080/tcp]`, `mounts[/data]`), and anything
 * with a `name` by that name (`containers[hf_shop_production_web_1]`, `env[GREETING]`).
 */
const LIST_IDENTITY: Record<string, (item: Record<string, Json>) => string | undefined> = {
  ports: (p) => (p.containerPort !== undefined ? `${String(p.containerPort)}/${text(p.protocol) ?? 'tcp'}${text(p.hostIP) ? `@${String(p.hostIP)}` : ''}` : undefined),
  exposedPorts: (p) => (p.port !== undefined ? `${String(p.port)}/${text(p.protocol) ?? 'tcp'}` : undefined),
  mounts: (m) => text(m.target),
  files: (f) => text(f.target),
  devices: (d) => text(d.target),
};

function listKeys(field: string, items: Json[]): string[] {
  const identity = LIST_IDENTITY[field] ?? ((item: Record<string, Json>) => text(item.name));
  const keys = items.map((item) => (isRecord(item) ? identity(item) : undefined));
  // Fall back to positions unless every item has its own identity.
  const unique = keys.every((k) => k !== undefined) && new Set(keys).size === keys.length;
  return unique ? (keys as string[]) : items.map((_, i) => String(i));
}

/**
 * Rows for every leaf of `value`. Empty lists and maps are left out (they say nothing), unless
 * `keepPaths` names them (a drift entry points there).
 */
export function flattenFields(value: Json, prefix = '', keepPaths: ReadonlySet<string> = new Set()): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (v: Json, path: string, field: string) => {
    const secret = secretOf(v);
    if (secret) {
      rows.push({ path, display: secret.ref ? `${MASK} (secret ${secret.ref})` : MASK, secret });
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        if (keepPaths.has(normalisePath(path))) rows.push({ path, display: '[]' });
        return;
      }
      const keys = listKeys(field, v);
      v.forEach((item, i) => walk(item, `${path}[${keys[i]}]`, field));
      return;
    }
    if (isRecord(v)) {
      const keys = Object.keys(v);
      if (keys.length === 0) {
        if (keepPaths.has(normalisePath(path))) rows.push({ path, display: '{}' });
        return;
      }
      for (const key of keys.sort(byFieldOrder)) walk(v[key], path ? `${path}.${key}` : key, key);
      return;
    }
    rows.push({ path, display: display(v) });
  };
  walk(value, prefix, '');
  return rows;
}

/**
 * The segments of a path, whatever form it comes in: `a.b[0].c`, `ports[8080/tcp]`,
 * `mounts[/var/lib/x.y]` (brackets hold one segment, dots and slashes included) or a JSON pointer
 * `/a/b/0/c`.
 */
export function pathSegments(path: string): string[] {
  if (path.startsWith('/')) return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (ch === '.') {
      if (current) segments.push(current);
      current = '';
    } else if (ch === '[') {
      if (current) segments.push(current);
      const close = path.indexOf(']', i + 1);
      const end = close < 0 ? path.length : close;
      segments.push(path.slice(i + 1, end));
      current = '';
      i = end;
    } else current += ch;
  }
  if (current) segments.push(current);
  return segments;
}

/** One spelling per path, for comparing and as a set key. */
export function normalisePath(path: string): string {
  return pathSegments(path).join('\u0000');
}

/** `containers[web_1].env.A` → container `web_1`, rest `env.A`: a field named within its container. */
export function splitContainerPath(path: string): { container?: string; rest: string } {
  const segments = pathSegments(path);
  if (segments[0] !== 'containers' || segments.length < 3) return { rest: path };
  const prefix = `containers[${segments[1]}]`;
  const rest = path.startsWith(prefix) ? path.slice(prefix.length).replace(/^\./, '') : segments.slice(2).join('.');
  return { container: segments[1], rest };
}

const startsWith = (row: string[], prefix: string[]) => prefix.length > 0 && prefix.length <= row.length && prefix.every((s, i) => s === row[i]);

/**
 * The drift entries that concern a row: the entry's path is the row's path or one of its parents.
 * An entry whose path is relative to one container (`env.GREETING`, as the drift engine writes them
 * when it compares containers) also matches that field under `containers[...]`. Under a changed
 * object (`ports[8080/tcp]`), only the fields whose values differ count.
 */
export function driftFor(rowPath: string, entries: readonly DriftEntry[], opts: { stripSpec?: boolean } = {}): DriftEntry[] {
  const row = pathSegments(rowPath);
  return entries.filter((entry) => {
    let path = pathSegments(entry.path);
    if (opts.stripSpec && path[0] === 'spec') path = path.slice(1);
    const rest = startsWith(row, path) ? row.slice(path.length) : row[0] === 'containers' && path[0] !== 'containers' && startsWith(row.slice(2), path) ? row.slice(2 + path.length) : undefined;
    if (rest === undefined) return false;
    if (rest.length === 0 || entry.kind !== 'changed') return true;
    const before = valueAt(entry.expected, rest);
    const after = valueAt(entry.actual, rest);
    // Unknown below this point (a list, or a shape the entry does not carry): keep the mark.
    if (before === NOT_FOUND || after === NOT_FOUND) return true;
    return JSON.stringify(before) !== JSON.stringify(after);
  });
}

const NOT_FOUND = Symbol('not found');

function valueAt(value: Json, segments: readonly string[]): Json | typeof NOT_FOUND {
  let current: Json = value;
  for (const segment of segments) {
    if (!isRecord(current)) return NOT_FOUND;
    current = current[segment];
  }
  return current;
}

export type SecretComparison = 'unchanged' | 'changed' | 'missing';

/** Compares a secret row with the row at the same path in the other view, by hash only. */
export function compareSecret(row: FieldRow, other: readonly FieldRow[]): SecretComparison {
  const counterpart = other.find((r) => r.path === row.path);
  if (!counterpart?.secret) return 'missing';
  return counterpart.secret.hash === row.secret?.hash ? 'unchanged' : 'changed';
}

/** A drift value as shown: secrets masked, objects as compact JSON, absence as an em dash. */
export function driftValue(v: Json): string {
  if (v === undefined) return '—';
  if (secretOf(v)) return MASK;
  return display(v);
}

/**
 * A secret's drift in words, with its key and the ends of both hashes:
 * `db/password: value changed (sha256 …3fa1 → …0c9f)`. Undefined when the entry is not a secret's.
 */
export function secretDriftText(entry: DriftEntry): string | undefined {
  const before = secretOf(entry.expected);
  const after = secretOf(entry.actual);
  if (!before && !after) return undefined;
  const ref = before?.ref ?? after?.ref;
  const prefix = ref ? `${ref}: ` : '';
  if (!after) return `${prefix}value missing (sha256 …${hashTails(before!.hash ?? '', '')[0]} expected)`;
  if (!before) return `${prefix}value not expected (sha256 …${hashTails(after.hash ?? '', '')[0]})`;
  const [a, b] = hashTails(before.hash ?? '', after.hash ?? '');
  if (before.hash === UNHASHED || after.hash === UNHASHED) return `${prefix}value differs (the host's value could not be hashed)`;
  return `${prefix}value changed (sha256 …${a} → …${b})`;
}

const HASH_TAIL = 4;

/** The shortest equal-length ends (at least HASH_TAIL characters) that tell two hashes apart. */
function hashTails(a: string, b: string): [string, string] {
  const x = a.replace(/^sha256:/, '');
  const y = b.replace(/^sha256:/, '');
  let n = HASH_TAIL;
  while (n < Math.max(x.length, y.length) && x.slice(-n) === y.slice(-n)) n++;
  return [x.slice(-n), y.slice(-n)];
}
