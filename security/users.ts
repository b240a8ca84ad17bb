// Local users: passwords hashed with argon2id, rules that refuse short and common passwords, an
// optional TOTP second factor (RFC 6238, the secret sealed like Secret values, each code accepted
// once), and sign-in that locks out a user name or a client address after repeated failures (5 in 5
// minutes by default), each failure and lockout audited. What a user may do comes from role bindings only.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { hash, verify } from '@node-rs/argon2';
import { and, eq, gte, isNull, lt, or } from 'drizzle-orm';
import { generateSecret, generateURI, verify as verifyCode } from 'otplib';
import { HoldfastError, type FieldCause } from '../core/errors.js';
import type { Db } from '../store/database.js';
import { signInFailures, users } from '../store/schema.js';
import { writeAudit } from './audit-log.js';
import { sealedValueAad, type Sealer } from './sealing.js';

const commonPasswords = createRequire(import.meta.url)('fxa-common-password-list') as { test(password: string): boolean };

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;
const USER_NAME = /^[a-z0-9]([-a-z0-9._@]*[a-z0-9])?$/;
const ARGON2ID = 2;
/** Verified against when the user does not exist, so an unknown name costs the same time as a known one. */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$DlA3JUto9LL7+vXjjQ9SNQ$0oFZkGnN0i/qw9puh4za5WVGgB6aDZVFHFgd9ZoGRZc';

export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
}
export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: 5 * 60_000 };

export interface UserInfo {
  id: string;
  name: string;
  groups: string[];
  source: string;
  createdAt: string;
  /** Whether sign-in asks for a one-time code besides the password. */
  totp: boolean;
}

/** A new second factor, shown once: the base32 secret and the otpauth:// URI authenticator apps read. */
export interface TotpEnrolment {
  secret: string;
  uri: string;
}

/** Codes of the step before and after the server's clock are accepted too (clock skew, typing time). */
const TOTP_TOLERANCE_S = 30;
/** What a user's sealed TOTP secret is bound to: it opens only on that user's row. */
export const totpSecretAad = (name: string) => sealedValueAad('User', undefined, name, 'totp');

/** Why a password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, name: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `the password is too short: use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `the password is too long: at most ${MAX_PASSWORD_LENGTH} characters`;
  if (password.toLowerCase().includes(name.toLowerCase())) return 'the password contains the user name';
  if (commonPasswords.test(password) || commonPasswords.test(password.toLowerCase())) return 'the password is on the list of common passwords';
  return undefined;
}

export class UserStore {
  private readonly lockout: LockoutPolicy;
  private readonly clock: () => Date;
  private readonly sealer?: Sealer;

  /** Without a sealer, TOTP can be neither enabled nor checked (a user with one cannot sign in). */
  constructor(
    private readonly db: Db,
    opts: { sealer?: Sealer; lockout?: LockoutPolicy; clock?: () => Date } = {},
  ) {
    this.lockout = opts.lockout ?? DEFAULT_LOCKOUT;
    this.clock = opts.clock ?? (() => new Date());
    this.sealer = opts.sealer;
  }

  async create(name: string, password: string, by: { actor: string; tokenId?: string }): Promise<UserInfo> {
    if (!USER_NAME.test(name) || name.length > 253) {
      throw new HoldfastError('BadRequest', `invalid user name "${name}": use lower-case letters, digits, '-', '.', '_' and '@'`);
    }
    const problem = passwordProblem(password, name);
    if (problem) throw new HoldfastError('BadRequest', `user "${name}": ${problem}`);
    const now = this.clock();
    const row = { id: randomUUID(), name, passwordHash: await hash(password, { algorithm: ARGON2ID }), groups: [], source: 'local', createdAt: now };
    await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      const [clash] = await tx.select({ id: users.id }).from(users).where(eq(users.name, name));
      if (clash) throw new HoldfastError('AlreadyExists', `user "${name}" already exists`, { details: { kind: 'User', name } });
      await tx.insert(users).values(row);
      await writeAudit(tx, { ...by, verb: 'create', kind: 'User', name, outcome: 'Success', message: `id ${row.id}` }, now);
    });
    return toInfo({ ...row, totpSecret: null, totpLastStep: null, disabledAt: null });
  }

  /**
   * Gives a local user a new TOTP secret (replacing any earlier one): from then on sign-in needs a
   * code from it. The secret is returned once and stored sealed.
   */
  async enableTotp(name: string, by: { actor: string; tokenId?: string }): Promise<TotpEnrolment> {
    if (!this.sealer) throw new HoldfastError('ServiceUnavailable', 'this server cannot store second factors (no encryption key loaded)');
    const [row] = await this.db.select().from(users).where(eq(users.name, name));
    if (!row || row.disabledAt) throw new HoldfastError('NotFound', `user "${name}" not found`, { details: { kind: 'User', name } });
    if (row.source !== 'local') throw new HoldfastError('BadRequest', `user "${name}" signs in through single sign-on: its provider asks for the second factor`);
    const secret = generateSecret();
    const now = this.clock();
    await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      await tx.update(users).set({ totpSecret: this.sealer!.seal(secret, totpSecretAad(name)), totpLastStep: null }).where(eq(users.id, row.id));
      await writeAudit(tx, { ...by, verb: 'update', kind: 'User', name, outcome: 'Success', message: 'TOTP second factor enabled' }, now);
    });
    return { secret, uri: generateURI({ issuer: 'Holdfast', label: name, secret }) };
  }

  async get(name: string): Promise<UserInfo | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.name, name));
    return row && !row.disabledAt ? toInfo(row) : undefined;
  }

  async byId(id: string): Promise<UserInfo | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id));
    return row && !row.disabledAt ? toInfo(row) : undefined;
  }

  async count(): Promise<number> {
    return (await this.db.select({ id: users.id }).from(users)).length;
  }

  /**
   * Checks a sign-in. A name or address with too many recent failures is refused before the password
   * is looked at (429); a wrong name or password is one 401 that does not say which.
   */
  async signIn(name: string, password: string, address: string, totp?: string): Promise<UserInfo> {
    const now = this.clock();
    const since = new Date(now.getTime() - this.lockout.windowMs);
    await this.db.delete(signInFailures).where(lt(signInFailures.at, since));
    const recent = await this.db
      .select()
      .from(signInFailures)
      .where(and(gte(signInFailures.at, since), or(eq(signInFailures.username, name), eq(signInFailures.address, address))));
    const byUser = recent.filter((f) => f.username === name).length;
    const byAddress = recent.filter((f) => f.address === address).length;
    if (byUser >= this.lockout.maxFailures || byAddress >= this.lockout.maxFailures) {
      const what = byUser >= this.lockout.maxFailures ? `user "${name}"` : `address ${address}`;
      const oldest = recent.map((f) => f.at.getTime()).sort((a, b) => a - b)[0] ?? now.getTime();
      const waitS = Math.max(1, Math.ceil((oldest + this.lockout.windowMs - now.getTime()) / 1000));
      await writeAudit(this.db, { actor: `user:${name}`, verb: 'login', kind: 'User', name, outcome: 'Failure', message: `locked out: ${what} had ${this.lockout.maxFailures} failed sign-ins; from ${address}` }, now);
      throw new HoldfastError('TooManyRequests', `too many failed sign-ins for ${what}; try again in ${waitS}s`);
    }
    const [row] = await this.db.select().from(users).where(eq(users.name, name));
    const ok = await verify(row?.passwordHash ?? DUMMY_HASH, password).catch(() => false);
    if (!row || !row.passwordHash || row.disabledAt || !ok) return this.refuse(name, address, now, 'wrong user name or password');
    if (row.totpSecret) {
      const problem = await this.totpProblem(row, totp, now);
      if (problem) return this.refuse(name, address, now, problem.message, [problem]);
    }
    await writeAudit(this.db, { actor: `user:${name}`, verb: 'login', kind: 'User', name, outcome: 'Success', message: `from ${address}` }, now);
    return toInfo(row);
  }

  /**
   * A sign-in single sign-on vouched for: the user is made on first sign-in (source oidc, no
   * password) and its groups are those the provider reported this time. A local user of the same
   * name is never signed in this way.
   */
  async signInExternal(identity: { name: string; groups: string[] }, issuer: string, address: string): Promise<UserInfo> {
    const { name, groups } = identity;
    if (!USER_NAME.test(name) || name.length > 253) {
      throw new HoldfastError('Forbidden', `single sign-on refused: "${name}" cannot be a user name (lower-case letters, digits, '-', '.', '_' and '@')`);
    }
    const now = this.clock();
    return this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      const [existing] = await tx.select().from(users).where(eq(users.name, name));
      if (existing && existing.source !== 'oidc') throw new HoldfastError('Forbidden', `single sign-on refused: "${name}" is a local user, who signs in with a password`);
      if (existing?.disabledAt) throw new HoldfastError('Forbidden', `single sign-on refused: user "${name}" is disabled`);
      let row: typeof users.$inferSelect;
      if (existing) {
        [row] = await tx.update(users).set({ groups }).where(eq(users.id, existing.id)).returning();
      } else {
        [row] = await tx.insert(users).values({ id: randomUUID(), name, passwordHash: null, groups, source: 'oidc', createdAt: now }).returning();
        await writeAudit(tx, { actor: 'system:oidc', verb: 'create', kind: 'User', name, outcome: 'Success', message: `id ${row.id}, first signed in through ${issuer}` }, now);
      }
      const groupText = groups.length ? `groups ${groups.join(', ')}` : 'no groups';
      await writeAudit(tx, { actor: `user:${name}`, verb: 'login', kind: 'User', name, outcome: 'Success', message: `through single sign-on (${issuer}), ${groupText}; from ${address}` }, now);
      return toInfo(row);
    });
  }

  /** Audits a sign-in refused before any user was known to be the one (a token the provider's answer did not prove). */
  async auditRefusal(name: string, why: string, address: string): Promise<void> {
    await writeAudit(this.db, { actor: name ? `user:${name}` : 'anonymous', verb: 'login', kind: 'User', name, outcome: 'Failure', message: `${why}; from ${address}` }, this.clock());
  }

  /** Why the code does not complete the sign-in, or undefined when it does (then its step is used up). */
  private async totpProblem(row: typeof users.$inferSelect, totp: string | undefined, now: Date): Promise<FieldCause | undefined> {
    if (!totp) return { field: 'totp', reason: 'FieldValueRequired', message: 'a one-time code is required: send "totp" with the code of your authenticator app' };
    if (!this.sealer) throw new HoldfastError('ServiceUnavailable', 'this server cannot check second factors (no encryption key loaded)');
    const secret = this.sealer.open(row.totpSecret!, totpSecretAad(row.name));
    const result = /^\d{6}$/.test(totp)
      ? await verifyCode({ secret, token: totp, epoch: Math.floor(now.getTime() / 1000), epochTolerance: TOTP_TOLERANCE_S, afterTimeStep: row.totpLastStep ?? undefined })
      : { valid: false as const };
    const wrong: FieldCause = { field: 'totp', reason: 'FieldValueInvalid', message: 'wrong or already used one-time code' };
    if (!result.valid || !('timeStep' in result)) return wrong;
    // Only one sign-in can move the step forward: a code sent twice at once is accepted once.
    const claimed = await this.db
      .update(users)
      .set({ totpLastStep: result.timeStep })
      .where(and(eq(users.id, row.id), or(isNull(users.totpLastStep), lt(users.totpLastStep, result.timeStep))))
      .returning({ id: users.id });
    return claimed.length ? undefined : wrong;
  }

  /** Records a failed sign-in (it counts toward the lockout), audits it and refuses with 401. */
  private async refuse(name: string, address: string, now: Date, why: string, causes: FieldCause[] = []): Promise<never> {
    await this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      await tx.insert(signInFailures).values({ username: name, address, at: now });
      await writeAudit(tx, { actor: `user:${name}`, verb: 'login', kind: 'User', name, outcome: 'Failure', message: `${why}; from ${address}` }, now);
    });
    throw new HoldfastError('Unauthorized', why, { causes });
  }
}

function toInfo(row: typeof users.$inferSelect): UserInfo {
  return { id: row.id, name: row.name, groups: row.groups, source: row.source, createdAt: row.createdAt.toISOString(), totp: row.totpSecret !== null };
}
