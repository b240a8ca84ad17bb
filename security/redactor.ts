// The one redaction chokepoint: a Redactor knows every secret value the process has stored or
// resolved, and replaces each (and its base64 forms) with [REDACTED] in whatever is about to leave
// the process: API bodies and errors, watch streams, log lines, events, status and audit messages.
//
// Values shorter than MIN_REDACTED_LENGTH are not registered: a three-letter value cannot be told
// from ordinary text, and masking every "yes" would make output unreadable without protecting much.
import { eq } from 'drizzle-orm';
import type { Db } from '../store/database.js';
import { resources, sealedValues } from '../store/schema.js';
import { sealedValueAad, type Sealer } from './sealing.js';

export const REDACTED = '[REDACTED]';
export const MIN_REDACTED_LENGTH = 6;

export class Redactor {
  private readonly values = new Set<string>();
  private readonly forms = new Set<string>();
  private pattern: RegExp | undefined;

  /** How many secret values are known. */
  get size(): number {
    return this.values.size;
  }

  /** Makes `value` one to redact from now on, with its base64 and JSON-escaped forms. */
  register(value: string): void {
    if (value.length < MIN_REDACTED_LENGTH || this.values.has(value)) return;
    this.values.add(value);
    const bytes = Buffer.from(value, 'utf8');
    const base64 = bytes.toString('base64');
    for (const form of [value, JSON.stringify(value).slice(1, -1), base64, base64.replace(/=+$/, ''), bytes.toString('base64url')]) {
      this.forms.add(form);
    }
    this.pattern = undefined;
  }

  /** `text` with every known value replaced. */
  redactText(text: string): string {
    if (this.forms.size === 0 || text.length < MIN_REDACTED_LENGTH) return text;
    return text.replace(this.regex(), REDACTED);
  }

  /**
   * A copy of `value` with every string in it (object keys included) redacted; numbers, booleans and
   * null pass unchanged. Structure is kept, so redacted JSON stays valid JSON.
   */
  redact<T>(value: T): T {
    if (this.forms.size === 0) return value;
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
    // Longest first, so a value that contains another is replaced whole.
    this.pattern ??= new RegExp([...this.forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
    return this.pattern;
  }
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
      redactor.register(sealer.open(row.ciphertext, sealedValueAad(row.kind, row.namespace, row.name, row.key)));
      loaded++;
    } catch {
      unopened++;
    }
  }
  return { loaded, unopened };
}

