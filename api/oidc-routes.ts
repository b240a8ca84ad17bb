// Single sign-on through an OpenID Provider (security/oidc.ts), and which sign-in methods there are.
//   GET  /auth/methods        → {"password": true, "oidc": true|false}: what the sign-in page offers
//   GET  /auth/oidc/login     → 302 to the provider; the state, nonce and PKCE verifier wait in a signed HttpOnly cookie.
//                               With redirect_uri, state and code_challenge (security/cli-hand-off.ts) it signs in for the CLI
//   GET  /auth/oidc/callback  → the provider's answer: the ID token is checked, the user made or updated, the session
//                               cookies set, 302 to the dashboard; a refused answer is a Status (401/403), audited,
//                               shown to a browser as a page that says what to do (api/sign-in-refusal-page.ts).
//                               For the CLI: 302 to its listener with a one-time code, or with the refusal
//   POST /auth/oidc/token     {"code": "…", "codeVerifier": "…"} → the CLI's session, as POST /auth/login's sessionInBody
import { timingSafeEqual } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import { cliHandOffRequest, handOffRedirect } from '../security/cli-hand-off.js';
import type { OidcSignIn, PendingSignIn } from '../security/oidc.js';
import type { Sealer } from '../security/sealing.js';
import type { SessionStore } from '../security/sessions.js';
import type { UserStore } from '../security/users.js';
import { setCookie, setSessionCookies } from './auth-routes.js';
import { clientAddress, cookie } from './auth.js';
import { prefersHtml, signInRefusalPage } from './sign-in-refusal-page.js';

const PENDING_COOKIE = 'holdfast_oidc';
/** How long a sign-in may stay at the provider. */
const PENDING_MAX_AGE_S = 600;

export interface OidcRoutesDeps {
  oidc?: OidcSignIn;
  /** Signs the pending sign-in cookie (its keyed hash; nothing is sealed). */
  sealer?: Sealer;
  users: UserStore;
  sessions: SessionStore;
}

export function oidcRouter({ oidc, sealer, users, sessions }: OidcRoutesDeps): Router {
  const r = Router();

  r.get('/auth/methods', (_req, res) => {
    res.json({ apiVersion: API_VERSION, kind: 'SignInMethods', password: true, oidc: Boolean(oidc && sealer) });
  });

  r.get('/auth/oidc/login', async (req, res) => {
    if (!oidc || !sealer) throw new HoldfastError('NotFound', 'single sign-on is not configured on this server (holdfast serve --oidc-issuer)');
    const cli = cliHandOffRequest(req.query as Record<string, unknown>);
    const { url, pending } = await oidc.start();
    const value = Buffer.from(JSON.stringify(cli ? { ...pending, cli } : pending)).toString('base64url');
    // Lax: the provider's redirect back is a top-level navigation from another site.
    setCookie(res, req, PENDING_COOKIE, `${value}.${sealer.hash(value)}`, PENDING_MAX_AGE_S, true, { path: '/auth/oidc', sameSite: 'Lax' });
    res.redirect(302, url.href);
  });

  r.get('/auth/oidc/callback', async (req, res) => {
    if (!oidc || !sealer) throw new HoldfastError('NotFound', 'single sign-on is not configured on this server (holdfast serve --oidc-issuer)');
    const address = clientAddress(req);
    const pending = readPending(cookie(req.get('cookie'), PENDING_COOKIE), sealer);
    setCookie(res, req, PENDING_COOKIE, '', 0, true, { path: '/auth/oidc', sameSite: 'Lax' });
    let name = '';
    try {
      if (!pending) throw new HoldfastError('BadRequest', 'no single sign-on in progress in this browser (or it took over 10 minutes): start again at /auth/oidc/login');
      const callback = new URL(oidc.config.redirectUrl);
      callback.search = new URL(req.originalUrl, 'http://callback').search;
      const identity = await oidc.finish(callback, pending);
      name = identity.name;
      const user = await users.signInExternal(identity, oidc.config.issuer.href, address);
      if (pending.cli) {
        res.redirect(302, handOffRedirect(pending.cli, { code: await sessions.createHandOff(user, address, pending.cli.codeChallenge) }));
        return;
      }
      setSessionCookies(res, req, await sessions.create(user, address));
      res.redirect(302, '/');
    } catch (err) {
      if (!(err instanceof HoldfastError)) throw err;
      await users.auditRefusal(name || String(err.details?.name ?? ''), err.message, address);
      if (!pending?.cli) throw err;
      res.redirect(302, handOffRedirect(pending.cli, { error: 'access_denied', description: err.message }));
    }
  });

  r.post('/auth/oidc/token', async (req, res) => {
    const body = req.body as { code?: unknown; codeVerifier?: unknown } | undefined;
    if (!body || typeof body !== 'object' || typeof body.code !== 'string' || typeof body.codeVerifier !== 'string') {
      throw new HoldfastError('BadRequest', 'send a JSON object {"code": "…", "codeVerifier": "…"}: the code the sign-in handed to the CLI and the verifier of its code_challenge');
    }
    const session = await sessions.redeemHandOff(body.code, body.codeVerifier);
    if (!session) {
      throw new HoldfastError('Unauthorized', 'the sign-in code is unknown, already used, older than a minute or not bound to this verifier: sign in again with holdfast login --oidc');
    }
    res.json({ apiVersion: API_VERSION, kind: 'Session', user: session.userName, groups: session.groups, expiresAt: session.expiresAt.toISOString(), token: session.token });
  });

  // The sign-in pages are a browser's navigations: a refusal there is a page, not raw JSON.
  r.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!(err instanceof HoldfastError) || req.method !== 'GET' || !prefersHtml(req)) return next(err);
    const page = signInRefusalPage(err);
    res.status(page.status).set({ 'Content-Security-Policy': page.csp, 'Cache-Control': 'no-store' }).type('html').send(page.html);
  });

  return r;
}

function readPending(value: string | undefined, sealer: Sealer): PendingSignIn | undefined {
  const [data, mac] = (value ?? '').split('.');
  if (!data || !mac) return undefined;
  const expected = Buffer.from(sealer.hash(data));
  if (expected.length !== Buffer.byteLength(mac) || !timingSafeEqual(expected, Buffer.from(mac))) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(data, 'base64url').toString('utf8')) as PendingSignIn;
    if (typeof parsed.state !== 'string' || typeof parsed.nonce !== 'string' || typeof parsed.verifier !== 'string') return undefined;
    const cli = parsed.cli && cliHandOffRequest({ redirect_uri: parsed.cli.redirectUri, state: parsed.cli.state, code_challenge: parsed.cli.codeChallenge });
    return { state: parsed.state, nonce: parsed.nonce, verifier: parsed.verifier, ...(cli ? { cli } : {}) };
  } catch {
    return undefined;
  }
}
