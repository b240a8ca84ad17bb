// Encryption key rotation, online: a new key becomes active at once (new writes use it), the old
// one moves to `encryption.key.previous` (old ciphertexts keep opening, and the oldest key keeps
// deriving the value-hash key, so hashes do not change), then every sealed value (Secret and SSHKey
// values, users' TOTP secrets) is re-encrypted under the new key, one row per statement, each guarded
// by its old ciphertext so a concurrent write is never overwritten.
//
// Crash-safe and resumable: the key files are replaced atomically (previous first); a rotation cut
// short leaves rows under an older, still loaded key, and the next call finishes those under the
// active key instead of making yet another key.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { and, eq, isNotNull } from 'drizzle-orm';
import { HoldfastError } from '../core/errors.js';
import type { Db } from '../store/database.js';
import { resources, sealedValues, users } from '../store/schema.js';
import { writeAudit } from './audit-log.js';
import { sealedValueAad, type AesGcmSealer } from './sealing.js';
import { totpSecretAad } from './users.js';

export const KEY_FILE = 'encryption.key';
export const PREVIOUS_KEYS_FILE = 'encryption.key.previous';
const MAX_PASSES = 5;

export interface RotationResult {
  /** The key every value is sealed with now. */
  keyId: string;
  /** Keys still loaded to open older ciphertexts (and, the oldest, to derive value hashes). */
  previousKeyIds: string[];
  /** True when this call finished an earlier rotation that was cut short, instead of starting one. */
  resumed: boolean;
  /** Rows re-encrypted by this call. */
  resealed: number;
  /** Rows that could not be re-encrypted; they keep their old ciphertext. */
  unopened: Array<{ kind: string; namespace?: string; name: string; key: string; reason: string }>;
}

export interface KeyRotationOptions {
  db: Db;
  sealer: AesGcmSealer;
  dataDir: string;
  /** Set when the key comes from ENCRYPTION_KEY: files cannot rotate it. */
  keyFromEnvironment: boolean;
  clock?: () => Date;
  /** Called after each row re-encrypted, with the count so far (fault injection in tests). */
  afterRow?: (resealed: number) => void;
}

interface SealedRow {
  /** The row that holds the ciphertext: an object's sealed value, or a user's TOTP secret. */
  owner: { table: 'sealed_values'; uid: string } | { table: 'users'; id: string };
  key: string;
  ciphertext: string;
  kind: string;
  namespace: string;
  name: string;
}

export class KeyRotation {
  private running = false;

  constructor(private readonly opts: KeyRotationOptions) {}

  async rotate(by: { actor: string; tokenId?: string }): Promise<RotationResult> {
    if (this.running) throw new HoldfastError('Conflict', 'a key rotation is already running; wait for it to finish');
    this.running = true;
    const clock = this.opts.clock ?? (() => new Date());
    try {
      const result = await this.run();
      const message = `${result.resumed ? 'finished an interrupted rotation' : 'new key'}; re-encrypted ${result.resealed} values${result.unopened.length ? `; ${result.unopened.length} could not be opened` : ''}`;
      await writeAudit(this.opts.db, { ...by, verb: 'rotate-key', kind: 'EncryptionKey', name: result.keyId, outcome: 'Success', message }, clock());
      return result;
    } catch (err) {
      const message = err instanceof HoldfastError ? `${err.reason}: ${err.message}` : 'InternalError';
      await writeAudit(this.opts.db, { ...by, verb: 'rotate-key', kind: 'EncryptionKey', name: this.opts.sealer.activeKeyId, outcome: 'Failure', message }, clock());
      throw err;
    } finally {
      this.running = false;
    }
  }

  private async run(): Promise<RotationResult> {
    const { sealer } = this.opts;
    const resumed = (await this.pendingRows()).length > 0;
    if (!resumed) this.activateNewKey();
    let resealed = 0;
    let unopened: RotationResult['unopened'] = [];
    // Passes repeat while they make progress: a write racing the first pass may put back a row
    // it read before the new key was active.
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const pending = await this.pendingRows();
      unopened = [];
      let progressed = 0;
      for (const row of pending) {
        const aad = row.owner.table === 'users' ? totpSecretAad(row.name) : sealedValueAad(row.kind, row.namespace || undefined, row.name, row.key);
        let plaintext: string;
        try {
          plaintext = sealer.open(row.ciphertext, aad);
        } catch (err) {
          unopened.push({ kind: row.kind, ...(row.namespace ? { namespace: row.namespace } : {}), name: row.name, key: row.key, reason: (err as Error).message });
          continue;
        }
        // False: a write replaced the value meanwhile, sealed under the active key already.
        if (await this.replace(row, sealer.seal(plaintext, aad))) {
          resealed++;
          progressed++;
          this.opts.afterRow?.(resealed);
        }
      }
      if (progressed === 0) break;
    }
    const [keyId, ...previousKeyIds] = sealer.keyIds;
    return { keyId, previousKeyIds, resumed, resealed, unopened };
  }

  /** Puts the new ciphertext in place of the old one; false when the row no longer holds the old one. */
  private async replace(row: SealedRow, ciphertext: string): Promise<boolean> {
    const { db } = this.opts;
    const updated =
      row.owner.table === 'users'
        ? await db.update(users).set({ totpSecret: ciphertext }).where(and(eq(users.id, row.owner.id), eq(users.totpSecret, row.ciphertext))).returning({ id: users.id })
        : await db
            .update(sealedValues)
            .set({ ciphertext, updatedAt: new Date() })
            .where(and(eq(sealedValues.ownerUid, row.owner.uid), eq(sealedValues.key, row.key), eq(sealedValues.ciphertext, row.ciphertext)))
            .returning({ key: sealedValues.key });
    return updated.length > 0;
  }

  /** Rows under a key that is loaded but not the active one. */
  private async pendingRows(): Promise<SealedRow[]> {
    const { sealer, db } = this.opts;
    const loaded = new Set(sealer.keyIds);
    const values = await db
      .select({
        ownerUid: sealedValues.ownerUid,
        key: sealedValues.key,
        ciphertext: sealedValues.ciphertext,
        kind: resources.kind,
        namespace: resources.namespace,
        name: resources.name,
      })
      .from(sealedValues)
      .innerJoin(resources, eq(resources.uid, sealedValues.ownerUid));
    const totp = await db.select({ id: users.id, name: users.name, ciphertext: users.totpSecret }).from(users).where(isNotNull(users.totpSecret));
    const rows: SealedRow[] = [
      ...values.map(({ ownerUid, ...r }) => ({ owner: { table: 'sealed_values' as const, uid: ownerUid }, ...r })),
      ...totp.map((u) => ({ owner: { table: 'users' as const, id: u.id }, key: 'totp', ciphertext: u.ciphertext!, kind: 'User', namespace: '', name: u.name })),
    ];
    return rows.filter((r) => {
      let id: string;
      try {
        id = sealer.keyIdOf(r.ciphertext);
      } catch {
        return false;
      }
      return id !== sealer.activeKeyId && loaded.has(id);
    });
  }

  /** Writes the new key files (previous first, each atomically) and makes the new key active. */
  private activateNewKey(): void {
    const { dataDir, keyFromEnvironment, sealer } = this.opts;
    if (keyFromEnvironment) {
      throw new HoldfastError(
        'BadRequest',
        `the encryption key comes from ENCRYPTION_KEY, which the server cannot change: add the current key as a line of ${join(dataDir, PREVIOUS_KEYS_FILE)}, ` +
          'set ENCRYPTION_KEY to a new 32-byte key (base64), restart, and run `holdfast secrets rotate-key` again to re-encrypt every value',
      );
    }
    const keyFile = join(dataDir, KEY_FILE);
    const previousFile = join(dataDir, PREVIOUS_KEYS_FILE);
    const current = readFileSync(keyFile, 'utf8').trim();
    const older = existsSync(previousFile) ? readFileSync(previousFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
    // Newest first: loadSealer derives the value-hash key from the last line, the oldest key.
    writeAtomically(previousFile, [current, ...older.filter((k) => k !== current)].join('\n') + '\n');
    const next = randomBytes(32);
    writeAtomically(keyFile, next.toString('base64') + '\n');
    sealer.activate(next);
  }
}

/**
 * Replaces `file` so that a crash leaves the old or the new content, never a mix, and the new
 * content is on disk before anything is sealed with the key it holds.
 */
/**
 * Fault injection for tests: HOLDFAST_FAILPOINT_ROTATION_EXIT_AFTER=N ends the process after N rows,
 * the way a crash or a kill would, so a test can prove a second run finishes the job.
 */
export function rotationFailpoint(env: NodeJS.ProcessEnv = process.env): ((resealed: number) => void) | undefined {
  const after = Number(env.HOLDFAST_FAILPOINT_ROTATION_EXIT_AFTER);
  if (!Number.isInteger(after) || after <= 0) return undefined;
  return (resealed) => {
    if (resealed >= after) process.exit(137);
  };
}

function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
