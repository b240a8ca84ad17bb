// API tokens: random, shown once, stored only as a SHA-256 hash. The `hft_` prefix makes a leaked
// token easy for secret scanners to recognise; listings show only the first characters.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../store/database.js';
import { apiTokens } from '../store/schema.js';

export const TOKEN_PREFIX = 'hft_';
const SHOWN_CHARS = 12;

export interface TokenIdentity {
  id: string;
  name: string;
  scopes: string[];
}

export interface TokenInfo extends TokenIdentity {
  prefix: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function newTokenValue(): string {
  return TOKEN_PREFIX + randomBytes(30).toString('base64url');
}

export class TokenStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Creates a token and returns its value: the only time the value exists outside the caller. */
  async create(name: string, scopes: string[], expiresAt?: Date): Promise<{ token: string; info: TokenInfo }> {
    const token = newTokenValue();
    const row = {
      id: randomUUID(),
      name,
      prefix: token.slice(0, SHOWN_CHARS),
      hash: hashToken(token),
      scopes,
      createdAt: this.clock(),
      expiresAt: expiresAt ?? null,
    };
    await this.db.insert(apiTokens).values(row);
    return { token, info: toInfo({ ...row, revokedAt: null, lastUsedAt: null }) };
  }

  /** The identity behind a presented token, or undefined when unknown, revoked or expired. */
  async verify(token: string): Promise<TokenIdentity | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const [row] = await this.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.hash, hashToken(token)), isNull(apiTokens.revokedAt)));
    if (!row) return undefined;
    const now = this.clock();
    if (row.expiresAt && row.expiresAt <= now) return undefined;
    // Record use at most once a minute per token: a busy client must not turn every read into a write.
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
      await this.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id));
    }
    return { id: row.id, name: row.name, scopes: row.scopes };
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.db.select().from(apiTokens).orderBy(asc(apiTokens.createdAt));
    return rows.map(toInfo);
  }

  async revoke(idOrName: string): Promise<boolean> {
    const now = this.clock();
    const byId = await this.db.update(apiTokens).set({ revokedAt: now }).where(and(eq(apiTokens.id, idOrName), isNull(apiTokens.revokedAt))).returning({ id: apiTokens.id });
    if (byId.length) return true;
    const byName = await this.db.update(apiTokens).set({ revokedAt: now }).where(and(eq(apiTokens.name, idOrName), isNull(apiTokens.revokedAt))).returning({ id: apiTokens.id });
    return byName.length > 0;
  }

  async count(): Promise<number> {
    return (await this.db.select({ id: apiTokens.id }).from(apiTokens)).length;
  }
}

function toInfo(row: typeof apiTokens.$inferSelect): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    ...(row.expiresAt ? { expiresAt: row.expiresAt.toISOString() } : {}),
    ...(row.revokedAt ? { revokedAt: row.revokedAt.toISOString() } : {}),
    ...(row.lastUsedAt ? { lastUsedAt: row.lastUsedAt.toISOString() } : {}),
  };
}
