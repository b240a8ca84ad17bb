// Sign-in sessions: a random value in an HttpOnly cookie (or, for the CLI, a bearer token), stored
// only as its hash, with an idle and an absolute timeout, revocable one by one or all of a user's at
// once. Each session has a CSRF value the dashboard echoes on state-changing requests.
// A session signed in through a browser for the CLI (holdfast login --oidc) is first handed over:
// stored under a one-time code bound to the CLI's PKCE challenge, it becomes a session only when the
// CLI redeems the code with its verifier, once, within a minute.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, eq, gte, isNull } from 'drizzle-orm';
import type { Db } from '../store/database.js';
import { sessions, users } from '../store/schema.js';
import { writeAudit } from './audit-log.js';

export const SESSION_PREFIX = 'hfs_';
/** A hand-off code is no session value: a session's hash is never looked up for it. */
const HAND_OFF_PREFIX = 'hfc_';
export const HAND_OFF_TTL_MS = 60_000;
const MAX_SESSION_LENGTH = 128;

export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}
export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = { idleMs: 60 * 60_000, absoluteMs: 12 * 60 * 60_000 };

export interface SessionIdentity {
  sessionId: string;
  userId: string;
  userName: string;
  groups: string[];
  csrfHash: string;
  expiresAt: Date;
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
/** RFC 7636's S256: the challenge a PKCE verifier answers. */
export const pkceChallenge = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const handOffHash = (code: string, challenge: string) => sha256(`${code}.${challenge}`);

export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly timeouts: SessionTimeouts = DEFAULT_SESSION_TIMEOUTS,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** A new session: its value and CSRF value exist only in this answer. */
  async create(user: { id: string; name: string }, address: string): Promise<{ token: string; csrf: string; id: string; expiresAt: Date }> {
    const token = SESSION_PREFIX + randomBytes(30).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const now = this.clock();
    const row = {
      id: randomUUID(),
      hash: sha256(token),
      userId: user.id,
      csrfHash: sha256(csrf),
      address,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.timeouts.absoluteMs),
    };
    await this.db.insert(sessions).values(row);
    return { token, csrf, id: row.id, expiresAt: row.expiresAt };
  }

  /**
   * A session to hand over: returns the one-time code that, with the verifier of `challenge`, the
   * session's value is redeemed for. Until then no value of it exists, so it cannot be used.
   */
  async createHandOff(user: { id: string; name: string }, address: string, challenge: string): Promise<string> {
    const code = HAND_OFF_PREFIX + randomBytes(30).toString('base64url');
    const now = this.clock();
    await this.db.insert(sessions).values({
      id: randomUUID(),
      hash: handOffHash(code, challenge),
      userId: user.id,
      csrfHash: sha256(randomBytes(24).toString('base64url')),
      address,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.timeouts.absoluteMs),
    });
    return code;
  }

  /** The session's value for a hand-off code and its verifier; undefined when unknown, used, expired or not bound to that verifier. */
  async redeemHandOff(code: string, verifier: string): Promise<{ token: string; userName: string; groups: string[]; expiresAt: Date } | undefined> {
    if (!code.startsWith(HAND_OFF_PREFIX) || code.length > MAX_SESSION_LENGTH || verifier.length > MAX_SESSION_LENGTH) return undefined;
    const token = SESSION_PREFIX + randomBytes(30).toString('base64url');
    const now = this.clock();
    // Taking the code's hash away is what makes it single use: a second redeem finds nothing.
    const [row] = await this.db
      .update(sessions)
      .set({ hash: sha256(token), lastSeenAt: now })
      .where(and(eq(sessions.hash, handOffHash(code, pkceChallenge(verifier))), isNull(sessions.revokedAt), gte(sessions.createdAt, new Date(now.getTime() - HAND_OFF_TTL_MS))))
      .returning();
    if (!row) return undefined;
    const [user] = await this.db.select().from(users).where(eq(users.id, row.userId));
    if (!user || user.disabledAt) return undefined;
    return { token, userName: user.name, groups: user.groups, expiresAt: row.expiresAt };
  }

  /** The session behind a value, or undefined when unknown, revoked, idle too long or past its end. */
  async verify(token: string): Promise<SessionIdentity | undefined> {
    if (!token.startsWith(SESSION_PREFIX) || token.length > MAX_SESSION_LENGTH) return undefined;
    const [found] = await this.db
      .select({ s: sessions, u: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.hash, sha256(token)), isNull(sessions.revokedAt)));
    if (!found || found.u.disabledAt) return undefined;
    const now = this.clock();
    const { s } = found;
    if (s.expiresAt <= now || now.getTime() - s.lastSeenAt.getTime() > this.timeouts.idleMs) return undefined;
    // Activity moves the idle deadline; recorded at most once a minute.
    if (now.getTime() - s.lastSeenAt.getTime() > 60_000) await this.db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, s.id));
    return { sessionId: s.id, userId: found.u.id, userName: found.u.name, groups: found.u.groups, csrfHash: s.csrfHash, expiresAt: s.expiresAt };
  }

  csrfMatches(session: SessionIdentity, presented: string | undefined): boolean {
    if (!presented) return false;
    const a = Buffer.from(sha256(presented), 'hex');
    return timingSafeEqual(a, Buffer.from(session.csrfHash, 'hex'));
  }

  /** Ends one session, or with `everywhere` every session of its user; audited. */
  async revoke(session: SessionIdentity, everywhere: boolean): Promise<number> {
    const now = this.clock();
    return this.db.transaction(async (txAny) => {
      const tx = txAny as unknown as Db;
      const ended = await tx
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(everywhere ? eq(sessions.userId, session.userId) : eq(sessions.id, session.sessionId), isNull(sessions.revokedAt)))
        .returning({ id: sessions.id });
      await writeAudit(
        tx,
        { actor: `user:${session.userName}`, tokenId: session.sessionId, verb: everywhere ? 'logout-everywhere' : 'logout', kind: 'User', name: session.userName, outcome: 'Success', message: `${ended.length} session(s) ended` },
        now,
      );
      return ended.length;
    });
  }
}
