// Turns a view (declared spec, frozen input, live observation) into field rows that can be shown
// side by side and matched against drift entries. Secret values never reach a row: a value that
// carries a `secretHash` becomes a masked row, compared with its counterpart only by that hash.
// Pure.
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

/** Stored objects come back with their keys in no useful order: `name` first, then A to Z. */
function byFieldOrder(a: string, b: string): number {
  if (a === 'name' || b === 'name') return a === 'name' ? (b === 'name' ? 0 : -1) : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Rows for every leaf of `value`. Empty lists and maps are left out (they say nothing), unless
 * `keepPaths` names them (a drift entry points there).
 */
export function flattenFields(value: Json, prefix = '', keepPaths: ReadonlySet<string> = new Set()): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (v: Json, path: string) => {
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
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    if (isRecord(v)) {
      const keys = Object.keys(v);
      if (keys.length === 0) {
        if (keepPaths.has(normalisePath(path))) rows.push({ path, display: '{}' });
        return;
      }
      for (const key of keys.sort(byFieldOrder)) walk(v[key], path ? `${path}.${key}` : key);
      return;
    }
    rows.push({ path, display: display(v) });
  };
  walk(value, prefix);
  return rows;
}

/**
 * One spelling for paths, whatever form a drift entry uses: `a.b[0].c`, `a.b.0.c` and `/a/b/0/c`
 * all become `a.b.0.c`.
 */
export function normalisePath(path: string): string {
  return path
    .replace(/^\//, '')
    .replace(/\//g, '.')
    .replace(/\[([^\]]*)\]/g, '.$1')
    .replace(/^\.+/, '')
    .replace(/\.{2,}/g, '.');
}

/** The drift entries that concern a row: the entry's path is the row's path or one of its parents. */
export function driftFor(rowPath: string, entries: readonly DriftEntry[], opts: { stripSpec?: boolean } = {}): DriftEntry[] {
  const row = normalisePath(rowPath);
  return entries.filter((entry) => {
    let path = normalisePath(entry.path);
    if (opts.stripSpec) path = path.replace(/^spec\./, '');
    return row === path || row.startsWith(path + '.');
  });
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

/** True when a drift entry is about a secret: its values are only hashes, shown as changed. */
export function isSecretDrift(entry: DriftEntry): boolean {
  return Boolean(secretOf(entry.expected) || secretOf(entry.actual));
}

/** The normalised paths of some rows: which drift entries already have a row to sit on. */
export function paths(rows: readonly FieldRow[]): Set<string> {
  return new Set(rows.map((r) => normalisePath(r.path)));
}
