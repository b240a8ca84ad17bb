// API tokens: random, shown once, stored only as a SHA-256 hash. The `hft_` prefix makes a leaked
// token easy for secret scanners to recognise; listings show only the first characters. Creating
// and revoking a token writes its audit row in the same transaction.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import { parseSubject } from '../core/authz/rbac.js';
import { HoldfastError } from '../core/errors.js';
import { DNS1123_LABEL, DNS1123_LABEL_MAX } from '../core/resource.js';
import type { Db } from '../store/database.js';
import { apiTokens } from '../store/schema.js';
import { ALL_SCOPES, isKnownScope } from './scopes.js';
import { writeAudit } from './audit-log.js';

export const TOKEN_PREFIX = 'hft_';
const SHOWN_CHARS = 12;
/** Longer than any token we issue; longer input is refused without a database lookup. */
const MAX_TOKEN_LENGTH = 128;
const AUDIT_KIND = 'Token';

export interface TokenIdentity {
  id: string;
  name: string;
  scopes: string[];
  /** The user or service account the token acts for (`user:alice`); its roles limit the token. */
  subject?: string;
}

export interface TokenInfo extends TokenIdentity {
  prefix: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

/** Who creates or revokes a token, for the audit row. */
export interface TokenActor {
  actor: string;
  tokenId?: string;
}

const SYSTEM: TokenActor = { actor: 'system:holdfast' };

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function newTokenValue(): string {
  return TOKEN_PREFIX + randomBytes(30).toString('base64url');
}

/** Throws a BadRequest naming every unknown scope and listing the valid ones. */
export function checkScopes(scopes: readonly string[]): void {
  const unknown = scopes.filter((s) => !isKnownScope(s));
  if (unknown.length) {
    throw new HoldfastError(
      'BadRequest',
      `unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(', ')}; valid scopes: ${ALL_SCOPES.join(', ')}, or * for all`,
    );
  }
}

/**
 * How long a verified token is taken as still valid without asking the store again. A client that
 * polls (`apply --wait` on 50 Services, a dashboard) sends dozens of requests a second with one
 * token: each was a query. A revoke through this process clears the memory at once; one through
 * another replica of the control plane takes effect here within this long.
 */
const VERIFIED_TOKEN_TTL_MS = 1000;
/** A bound on the memory of verified tokens; only valid tokens enter it, so this is a safeguard. */
const VERIFIED_TOKENS_MAX = 1000;

export class TokenStore {
  private readonly verified = new Map<string, { identity: TokenIdentity; expiresAt: Date | null; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Creates a token and returns its value: the only time the value exists outside the caller.
   * Names are unique among tokens that are not revoked, so `revoke NAME` is unambiguous.
   */
  async create(name: string, scopes: string[], expiresAt?: Date, by: TokenActor = SYSTEM, subject?: string): Promise<{ token: string; info: TokenInfo }> {
    return this.issue(name, scopes, expiresAt, by, false, subject);
  }

  /** Revokes the unrevoked token with this name, if there is one, and creates its successor in the same transaction. */
  async replace(name: string, scopes: string[], by: TokenActor = SYSTEM): Promise<{ token: string; info: TokenInfo }> {
    return this.issue(name, scopes, undefined, by, true);
  }

  private async issue(name: string, scopes: string[], expiresAt: Date | undefined, by: TokenActor, replace: boolean, subject?: string): Promise<{ token: string; info: TokenInfo }> {
    if (!DNS1123_LABEL.test(name) || name.length > DNS1123_LABEL_MAX) {
      throw new HoldfastError('BadRequest', `invalid token name "${name}": use lower-case letters, digits and '-', at most 63 characters`);
    }
    checkScopes(scopes);
    if (subject !== undefined && !parseSubject(subject)) {
      throw new HoldfastError('BadRequest', `invalid subject "${subject}": use user:NAME or serviceaccount:PROJECT:NAME`);
    }
    const token = newTokenValue();
    const now = this.clock();
    const row = {
      id: randomUUID(),
      name,
      prefix: token.slice(0, SHOWN_CHARS),
      hash: hashToken(token),
      scopes: [...new Set(scopes)],
      createdAt: now,
      expiresAt: expiresAt ?? null,
      subject: subject ?? null,
    };
    await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      // Serialise creates so two requests cannot both find the name free.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('holdfast.api_tokens'))`);
      const unrevoked = and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt));
      if (replace) {
        for (const old of await tx.update(apiTokens).set({ revokedAt: now }).where(unrevoked).returning()) {
          await writeAudit(tx, { ...by, verb: 'revoke', kind: AUDIT_KIND, name, outcome: 'Success', message: `id ${old.id}` }, now);
        }
      }
      const [clash] = await tx.select({ id: apiTokens.id }).from(apiTokens).where(unrevoked);
      if (clash) {
        throw new HoldfastError('AlreadyExists', `a token named "${name}" already exists (id ${clash.id}): revoke it first, or choose another name`);
      }
      await tx.insert(apiTokens).values(row);
      await writeAudit(tx, { ...by, verb: 'create', kind: AUDIT_KIND, name, outcome: 'Success', message: describeGrant(row.id, row.scopes, expiresAt, subject) }, now);
    });
    // The predecessor, when this replaced one, is revoked from now on here.
    if (replace) this.verified.clear();
    return { token, info: toInfo({ ...row, revokedAt: null, lastUsedAt: null }) };
  }

  /** The identity behind a presented token, or undefined when unknown, revoked or expired. */
  async verify(token: string): Promise<TokenIdentity | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = hashToken(token);
    const remembered = this.verified.get(hash);
    if (remembered && remembered.until > Date.now()) {
      if (!remembered.expiresAt || remembered.expiresAt > this.clock()) return remembered.identity;
      this.verified.delete(hash);
      return undefined;
    }
    const [row] = await this.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.hash, hash), isNull(apiTokens.revokedAt)));
    if (!row) return undefined;
    const now = this.clock();
    if (row.expiresAt && row.expiresAt <= now) return undefined;
    // Record use at most once a minute per token: a busy client must not turn every read into a write.
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
      await this.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id));
    }
    const identity: TokenIdentity = { id: row.id, name: row.name, scopes: row.scopes, ...(row.subject ? { subject: row.subject } : {}) };
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.clear();
    this.verified.set(hash, { identity, expiresAt: row.expiresAt, until: Date.now() + VERIFIED_TOKEN_TTL_MS });
    return identity;
  }

  /** Tokens in the order they were created, one page at a time. */
  async list(opts: { limit?: number; continue?: string } = {}): Promise<{ items: TokenInfo[]; continue?: string }> {
    const after = opts.continue ? decodeCursor(opts.continue) : undefined;
    const query = this.db
      .select()
      .from(apiTokens)
      .where(after ? sql`(${apiTokens.createdAt}, ${apiTokens.id}) > (${after.at}::timestamptz, ${after.id})` : undefined)
      .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
    const rows = opts.limit ? await query.limit(opts.limit + 1) : await query;
    const more = opts.limit !== undefined && rows.length > opts.limit;
    const page = more ? rows.slice(0, opts.limit) : rows;
    const last = page[page.length - 1];
    return { items: page.map(toInfo), ...(more ? { continue: encodeCursor(last.createdAt, last.id) } : {}) };
  }

  /**
   * Revokes the token with this id, or the unrevoked token with this name. With `within`, only a
   * token whose scopes all lie within those (a caller revokes no more than it could grant).
   */
  async revoke(idOrName: string, by: TokenActor = SYSTEM, within?: readonly string[]): Promise<TokenInfo> {
    const now = this.clock();
    const revoked = await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      const match = and(or(eq(apiTokens.id, idOrName), eq(apiTokens.name, idOrName)), isNull(apiTokens.revokedAt));
      const [target] = await tx.select().from(apiTokens).where(match).for('update');
      if (!target) throw new HoldfastError('NotFound', `no unrevoked token has the name or id "${idOrName}"`, { details: { kind: AUDIT_KIND, name: idOrName } });
      const beyond = within ? scopesBeyond(target.scopes, within) : [];
      if (beyond.length) {
        throw new HoldfastError('Forbidden', `forbidden: token "${target.name}" holds scopes the caller does not: ${beyond.join(', ')}; only a token holding them can revoke it`);
      }
      const [row] = await tx.update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, target.id)).returning();
      await writeAudit(tx, { ...by, verb: 'revoke', kind: AUDIT_KIND, name: row.name, outcome: 'Success', message: `id ${row.id}` }, now);
      return toInfo(row);
    });
    // Cleared once the revoke is committed: a verify in between would have remembered it as valid.
    this.verified.clear();
    return revoked;
  }

  /** Audits a create or revoke that failed before it could write. */
  async auditFailure(by: TokenActor, verb: string, name: string, message: string): Promise<void> {
    await writeAudit(this.db, { ...by, verb, kind: AUDIT_KIND, name: name || '(unnamed)', outcome: 'Failure', message }, this.clock());
  }

  async count(): Promise<number> {
    return (await this.db.select({ id: apiTokens.id }).from(apiTokens)).length;
  }
}

/** The scopes of `wanted` that `held` does not cover (`*` covers every scope). */
export function scopesBeyond(wanted: readonly string[], held: readonly string[]): string[] {
  return held.includes('*') ? [] : wanted.filter((s) => !held.includes(s));
}

function describeGrant(id: string, scopes: string[], expiresAt?: Date, subject?: string): string {
  return `id ${id}; ${subject ? `for ${subject}; ` : ''}scopes ${scopes.join(',') || '(none)'}; ${expiresAt ? `expires ${expiresAt.toISOString()}` : 'does not expire'}`;
}

function toInfo(row: typeof apiTokens.$inferSelect): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    ...(row.subject ? { subject: row.subject } : {}),
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    ...(row.expiresAt ? { expiresAt: row.expiresAt.toISOString() } : {}),
    ...(row.revokedAt ? { revokedAt: row.revokedAt.toISOString() } : {}),
    ...(row.lastUsedAt ? { lastUsedAt: row.lastUsedAt.toISOString() } : {}),
  };
}

const encodeCursor = (at: Date, id: string) => Buffer.from(JSON.stringify({ at: at.toISOString(), id })).toString('base64url');

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function decodeCursor(token: string): { at: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    // Only what encodeCursor writes: anything else could be a time or an id the database cannot compare.
    if (typeof v.at === 'string' && ISO_TIME.test(v.at) && !Number.isNaN(Date.parse(v.at)) && typeof v.id === 'string' && UUID.test(v.id)) return { at: v.at, id: v.id };
  } catch {
    // fall through
  }
  throw new HoldfastError('BadRequest', 'the provided continue parameter is not valid');
}
