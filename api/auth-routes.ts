// Sign-in with a user name and password, sign-out, who am I, and local users.
//   POST /auth/login   {"username": "alice", "password": "…", "totp": "123456"?}  → 200, cookies holdfast_session (HttpOnly)
//                      and holdfast_csrf; a user with a second factor without (or with a wrong) code: 401 whose cause names "totp"
//                      with "sessionInBody": true (the CLI) the session value is in the answer instead, as a bearer token
//   POST /auth/logout  {"everywhere": true}?                     → ends this session (or all of the user's)
//   GET  /auth/whoami                                            → the subject and groups the request acts as
//   POST /apis/holdfast.dev/v1alpha1/users {"name": "bob", "password": "…", "admin": false}   (user:admin)
//   POST /apis/holdfast.dev/v1alpha1/users/bob/totp   → a new TOTP secret and its otpauth:// URI, shown this once (user:admin)
// A state-changing request signed in by cookie must echo the holdfast_csrf cookie in X-CSRF-Token.
import { Router, type Request, type Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import type { SessionStore } from '../security/sessions.js';
import type { UserStore } from '../security/users.js';
import type { ResourceStore } from '../store/resource-store.js';
import { actorOf, clientAddress, CSRF_COOKIE, SESSION_COOKIE } from './auth.js';
import { sendUnredacted } from './redaction.js';
import { API_BASE } from './scopes.js';

export interface AuthRoutesDeps {
  users: UserStore;
  sessions: SessionStore;
  store: ResourceStore;
}

export function authRouter({ users, sessions, store }: AuthRoutesDeps): Router {
  const r = Router();

  r.post('/auth/login', async (req, res) => {
    const body = req.body as { username?: unknown; password?: unknown; totp?: unknown; sessionInBody?: unknown } | undefined;
    if (
      !body ||
      typeof body !== 'object' ||
      typeof body.username !== 'string' ||
      typeof body.password !== 'string' ||
      !body.username ||
      (body.totp !== undefined && typeof body.totp !== 'string')
    ) {
      throw new HoldfastError('BadRequest', 'send a JSON object {"username": "…", "password": "…"} (and "totp": "123456" for a user with a second factor)');
    }
    const user = await users.signIn(body.username, body.password, clientAddress(req), body.totp as string | undefined);
    const session = await sessions.create(user, clientAddress(req));
    const answer = { apiVersion: API_VERSION, kind: 'Session', user: user.name, groups: user.groups, expiresAt: session.expiresAt.toISOString() };
    if (body.sessionInBody === true) {
      res.json({ ...answer, token: session.token });
      return;
    }
    setSessionCookies(res, req, session);
    res.json(answer);
  });

  r.post('/auth/logout', async (req, res) => {
    const session = req.identity?.session;
    if (!session) throw new HoldfastError('BadRequest', 'this request is not signed in with a session: revoke API tokens with holdfast token revoke');
    const everywhere = (req.body as { everywhere?: unknown } | undefined)?.everywhere === true;
    const ended = await sessions.revoke(session, everywhere);
    setCookie(res, req, SESSION_COOKIE, '', 0, true);
    setCookie(res, req, CSRF_COOKIE, '', 0, false);
    res.json({ apiVersion: API_VERSION, kind: 'Status', status: 'Success', message: `${ended} session(s) ended` });
  });

  r.get('/auth/whoami', (req, res) => {
    const id = req.identity!;
    res.json({
      apiVersion: API_VERSION,
      kind: 'SelfSubjectReview',
      status: { userInfo: { username: id.subject ?? `token:${id.name}`, groups: id.groups ?? [], ...(id.session ? {} : { token: id.name }) } },
    });
  });

  r.post(`${API_BASE}/users`, async (req, res) => {
    const body = req.body as { name?: unknown; password?: unknown; admin?: unknown } | undefined;
    if (!body || typeof body !== 'object' || typeof body.name !== 'string' || typeof body.password !== 'string') {
      throw new HoldfastError('BadRequest', 'send a JSON object {"name": "…", "password": "…", "admin": false}');
    }
    const user = await users.create(body.name, body.password, actorOf(req));
    if (body.admin === true) {
      await store.create(
        { apiVersion: API_VERSION, kind: 'ClusterRoleBinding', metadata: { name: `${user.name.replace(/[^a-z0-9-]/g, '-')}-admin` }, spec: { roleRef: { kind: 'Role', name: 'admin' }, subjects: [{ kind: 'User', name: user.name }] } },
        { ...actorOf(req), verb: 'create' },
      );
    }
    res.status(201).json({ apiVersion: API_VERSION, kind: 'User', ...user });
  });

  r.post(`${API_BASE}/users/:name/totp`, async (req, res) => {
    const enrolment = await users.enableTotp(String(req.params.name), actorOf(req));
    // Sealing made the secret known to the redactor; this answer is the one place it must be seen.
    sendUnredacted(res.status(201), { apiVersion: API_VERSION, kind: 'TOTPEnrolment', user: req.params.name, ...enrolment });
  });

  return r;
}

/** The session cookie (HttpOnly) and the CSRF cookie the dashboard's script echoes. */
export function setSessionCookies(res: Response, req: Request, session: { token: string; csrf: string; expiresAt: Date }) {
  const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000);
  setCookie(res, req, SESSION_COOKIE, session.token, maxAge, true);
  setCookie(res, req, CSRF_COOKIE, session.csrf, maxAge, false);
}

export function setCookie(
  res: Response,
  req: Request,
  name: string,
  value: string,
  maxAgeS: number,
  httpOnly: boolean,
  { path = '/', sameSite = 'Strict' }: { path?: string; sameSite?: 'Strict' | 'Lax' } = {},
) {
  const attributes = [`${name}=${value}`, `Path=${path}`, `Max-Age=${maxAgeS}`, `SameSite=${sameSite}`, ...(httpOnly ? ['HttpOnly'] : []), ...(req.secure ? ['Secure'] : [])];
  res.append('Set-Cookie', attributes.join('; '));
}
