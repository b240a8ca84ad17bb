// The one redaction chokepoint: a Redactor knows every secret value the process has stored or
// resolved, and replaces each (and its base64 forms) with [REDACTED] in whatever is about to leave
// the process: API bodies and errors, watch streams, log lines, events, status and audit messages.
//
// A value is not registered when masking it would hide the API from its own clients instead of
// protecting anything: shorter than MIN_REDACTED_LENGTH (a three-letter value cannot be told from
// ordinary text), or one of the reserved words the API itself emits (its apiVersion, kinds, field
// names, "Bearer"...), which a stored Secret could otherwise turn into [REDACTED] in every response.
import { eq } from 'drizzle-orm';
import type { Db } from '../store/database.js';
import { resources, sealedValues } from '../store/schema.js';
import { sealedValueAad, type Sealer } from './sealing.js';

export const REDACTED = '[REDACTED]';
export const MIN_REDACTED_LENGTH = 6;

export interface RedactorOptions {
  /** Words the API emits itself: never treated as secret values. */
  reserved?: Iterable<string>;
}

export class Redactor {
  /** Each registered value, with the owners (sealed-value identities) that hold it; an unowned value is kept for good. */
  private readonly values = new Map<string, Set<string> | 'unowned'>();
  private readonly reserved: Set<string>;
  private forms: string[] | undefined;
  private pattern: RegExp | undefined;

  constructor(opts: RedactorOptions = {}) {
    this.reserved = new Set([...(opts.reserved ?? [])].map((w) => w.toLowerCase()));
  }

  /** How many secret values are known. */
  get size(): number {
    return this.values.size;
  }

  /** Whether `value` can never be registered (too short, or a word the API emits). */
  refuses(value: string): boolean {
    return value.length < MIN_REDACTED_LENGTH || this.reserved.has(value.toLowerCase());
  }

  /**
   * Makes `value` one to redact from now on, with its base64 and JSON-escaped forms. With `owner`
   * (the sealed value's identity, kind/namespace/name/key), `forget` removes it again.
   */
  register(value: string, owner?: string): void {
    if (this.refuses(value)) return;
    const owners = this.values.get(value);
    if (owners === 'unowned') return;
    if (owner === undefined) this.values.set(value, 'unowned');
    else if (owners) owners.add(owner);
    else this.values.set(value, new Set([owner]));
    if (!owners) this.changed();
  }

  /** Drops the values held only by owners under `prefix` (a deleted Secret's `Secret/ns/name/`). */
  forget(prefix: string): void {
    let removed = false;
    for (const [value, owners] of this.values) {
      if (owners === 'unowned') continue;
      for (const owner of owners) if (owner.startsWith(prefix)) owners.delete(owner);
      if (owners.size === 0) {
        this.values.delete(value);
        removed = true;
      }
    }
    if (removed) this.changed();
  }

  private changed() {
    this.forms = undefined;
    this.pattern = undefined;
  }

  /** `text` with every known value replaced. */
  redactText(text: string): string {
    if (this.values.size === 0 || text.length < MIN_REDACTED_LENGTH) return text;
    return text.replace(this.regex(), REDACTED);
  }

  /** Whether `text` holds any known value (in any of its forms): when not, nothing in it needs redacting. */
  mentionsAny(text: string): boolean {
    return this.values.size > 0 && text.search(this.regex()) !== -1;
  }

  /**
   * A copy of `value` with every string in it (object keys included) redacted; numbers, booleans and
   * null pass unchanged. Structure is kept, so redacted JSON stays valid JSON.
   */
  redact<T>(value: T): T {
    if (this.values.size === 0) return value;
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (value === null || typeof value !== 'object' || depth > 100) return value;
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1));
    if (value instanceof Error) {
      const copy = new Error(this.redactText(value.message));
      copy.name = value.name;
      copy.stack = value.stack === undefined ? undefined : this.redactText(value.stack);
      return copy;
    }
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    // Objects with their own JSON form (a Date-like, say) are redacted as that form.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return this.walk((value as { toJSON(): unknown }).toJSON(), depth + 1);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[this.redactText(k)] = this.walk(v, depth + 1);
    return out;
  }

  private regex(): RegExp {
    this.forms ??= [...new Set([...this.values.keys()].flatMap(formsOf))];
    // Longest first, so a value that contains another is replaced whole.
    this.pattern ??= new RegExp(this.forms.sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
    return this.pattern;
  }
}

/** The value as text, JSON-escaped, and in base64 (padded, unpadded, URL-safe). */
function formsOf(value: string): string[] {
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  return [value, JSON.stringify(value).slice(1, -1), base64, base64.replace(/=+$/, ''), Buffer.from(value, 'utf8').toString('base64url')];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Registers every value currently sealed in the store (Secret values, SSHKey private keys) by
 * opening it; values that do not open (a missing key) are counted, not thrown.
 */
export async function loadSealedValues(db: Db, sealer: Sealer, redactor: Redactor): Promise<{ loaded: number; unopened: number }> {
  const rows = await db
    .select({ kind: resources.kind, namespace: resources.namespace, name: resources.name, key: sealedValues.key, ciphertext: sealedValues.ciphertext })
    .from(sealedValues)
    .innerJoin(resources, eq(resources.uid, sealedValues.ownerUid));
  let loaded = 0;
  let unopened = 0;
  for (const row of rows) {
    try {
      const aad = sealedValueAad(row.kind, row.namespace, row.name, row.key);
      redactor.register(sealer.open(row.ciphertext, aad), aad);
      loaded++;
    } catch {
      unopened++;
    }
  }
  return { loaded, unopened };
}

