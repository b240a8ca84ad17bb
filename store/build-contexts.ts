// Build context tars, content-addressed by sha256 digest within a namespace: written once by an
// upload (the digest is checked against the bytes), read back in pieces by the rollout that builds
// from them, and removed by housekeeping when no Service and no deployment names them any more.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { buildContextChunks, buildContexts } from './schema.js';

const CHUNK_BYTES = 1024 * 1024;

export interface BuildContextInfo {
  namespace: string;
  digest: string;
  size: number;
  createdAt: string;
  lastUsedAt: string;
}

export class DigestMismatch extends Error {}

export class BuildContextStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async get(namespace: string, digest: string): Promise<BuildContextInfo | undefined> {
    const [row] = await this.db.select().from(buildContexts).where(and(eq(buildContexts.namespace, namespace), eq(buildContexts.digest, digest)));
    return row ? info(row) : undefined;
  }

  /**
   * Stores `tar` under `digest` unless it is there already; throws DigestMismatch when the bytes
   * are not what the digest names. Returns whether it was stored now.
   */
  async put(namespace: string, digest: string, tar: Uint8Array): Promise<{ created: boolean; info: BuildContextInfo }> {
    const actual = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    if (actual !== digest) throw new DigestMismatch(`the body's digest is ${actual}, not ${digest}`);
    const now = this.clock();
    const existing = await this.get(namespace, digest);
    if (existing) {
      await this.touch(namespace, digest);
      return { created: false, info: existing };
    }
    const chunks = Math.max(1, Math.ceil(tar.length / CHUNK_BYTES));
    const created = await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      for (let seq = 0; seq < chunks; seq++) {
        const data = tar.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES);
        await tx.insert(buildContextChunks).values({ namespace, digest, seq, data }).onConflictDoNothing();
      }
      // Written last: a concurrent upload of the same digest finds it complete or not at all.
      const rows = await tx
        .insert(buildContexts)
        .values({ namespace, digest, size: tar.length, chunks, createdAt: now, lastUsedAt: now })
        .onConflictDoNothing()
        .returning({ digest: buildContexts.digest });
      return rows.length > 0;
    });
    return { created, info: (await this.get(namespace, digest))! };
  }

  /** The tar as a stream of its pieces, or undefined when it is not stored. */
  async open(namespace: string, digest: string): Promise<{ info: BuildContextInfo; stream: Readable } | undefined> {
    const [row] = await this.db.select().from(buildContexts).where(and(eq(buildContexts.namespace, namespace), eq(buildContexts.digest, digest)));
    if (!row) return undefined;
    await this.touch(namespace, digest);
    const db = this.db;
    async function* pieces() {
      for (let seq = 0; seq < row.chunks; seq++) {
        const [chunk] = await db
          .select({ data: buildContextChunks.data })
          .from(buildContextChunks)
          .where(and(eq(buildContextChunks.namespace, namespace), eq(buildContextChunks.digest, digest), eq(buildContextChunks.seq, seq)));
        if (!chunk) throw new Error(`build context ${digest} in ${namespace} is missing its piece ${seq}`);
        yield Buffer.from(chunk.data);
      }
    }
    return { info: info(row), stream: Readable.from(pieces(), { objectMode: false }) };
  }

  /** The whole tar in memory (tests, small contexts). */
  async read(namespace: string, digest: string): Promise<Buffer | undefined> {
    const opened = await this.open(namespace, digest);
    if (!opened) return undefined;
    const parts: Buffer[] = [];
    for await (const part of opened.stream) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  async list(): Promise<BuildContextInfo[]> {
    const rows = await this.db.select().from(buildContexts).orderBy(asc(buildContexts.namespace), asc(buildContexts.digest));
    return rows.map(info);
  }

  /**
   * Removes contexts last used before `unusedSince` that `isReferenced` does not claim (a Service
   * spec or a deployment's frozen input names it); those it claims count as used now. Returns what
   * was removed.
   */
  async prune(unusedSince: Date, isReferenced: (namespace: string, digest: string) => Promise<boolean>): Promise<Array<{ namespace: string; digest: string }>> {
    const candidates = await this.db
      .select({ namespace: buildContexts.namespace, digest: buildContexts.digest })
      .from(buildContexts)
      .where(lt(buildContexts.lastUsedAt, unusedSince));
    const removed: Array<{ namespace: string; digest: string }> = [];
    for (const c of candidates) {
      if (await isReferenced(c.namespace, c.digest)) {
        // Still named: not looked at again until it has gone unused as long once more.
        await this.touch(c.namespace, c.digest);
        continue;
      }
      const gone = await this.db.transaction(async (txAny) => {
        const tx = txAny as unknown as Db;
        // Unless an upload or a build used it since the candidates were read.
        const rows = await tx
          .delete(buildContexts)
          .where(and(eq(buildContexts.namespace, c.namespace), eq(buildContexts.digest, c.digest), lt(buildContexts.lastUsedAt, unusedSince)))
          .returning({ digest: buildContexts.digest });
        if (rows.length === 0) return false;
        await tx.delete(buildContextChunks).where(and(eq(buildContextChunks.namespace, c.namespace), eq(buildContextChunks.digest, c.digest)));
        return true;
      });
      if (gone) removed.push(c);
    }
    return removed;
  }

  /** Whether any deployment record of the namespace froze a build from this context (rollback may need it). */
  async deploymentsReference(namespace: string, digest: string): Promise<boolean> {
    const probe = JSON.stringify({ components: [{ build: { contextDigest: digest } }] });
    const rows = await this.db.execute(sql`select 1 from deployments where namespace = ${namespace} and frozen @> ${probe}::jsonb limit 1`);
    return rowCount(rows) > 0;
  }

  private async touch(namespace: string, digest: string) {
    await this.db.update(buildContexts).set({ lastUsedAt: this.clock() }).where(and(eq(buildContexts.namespace, namespace), eq(buildContexts.digest, digest)));
  }
}

function info(row: typeof buildContexts.$inferSelect): BuildContextInfo {
  return { namespace: row.namespace, digest: row.digest, size: row.size, createdAt: row.createdAt.toISOString(), lastUsedAt: row.lastUsedAt.toISOString() };
}

/** node-postgres and PGlite both answer execute() with `rows`. */
function rowCount(result: unknown): number {
  return ((result as { rows?: unknown[] }).rows ?? []).length;
}
