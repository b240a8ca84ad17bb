// Authentication and authorization, in one guard in front of every route: the request is matched
// against the route table (api/scopes.ts); unless the row is public, the request must carry
// `Authorization: Bearer <token>` for a valid token. A token of a subject (a user or a service
// account) is allowed what the subject's roles allow, within the token's scopes when it is narrowed;
// a token without a subject (the admin token) must hold a scope the row names. The identity is
// attached to the request for audit. Failed authentication is rate-limited per client.
// A signed-in user's session (the holdfast_session cookie, or its value as a bearer token from the
// CLI) acts for that user with every scope; a state-changing request signed in by cookie must echo
// the holdfast_csrf cookie in X-CSRF-Token, so another site cannot make the browser send one.
import type { NextFunction, Request, Response } from 'express';
import { parseSubject, type AccessDecision, type AccessRequest } from '../core/authz/rbac.js';
import { HoldfastError } from '../core/errors.js';
import { kindByPlural } from '../core/resource.js';
import type { Authorizer } from '../security/authorizer.js';
import { DEFAULT_FAILED_AUTH_LIMITS, FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import { SESSION_PREFIX, type SessionIdentity, type SessionStore } from '../security/sessions.js';
import type { TokenIdentity, TokenStore } from '../security/tokens.js';
import { allows } from '../security/scopes.js';
import { matchRoute, requiredAccess, type Method, type RouteMatch } from './scopes.js';

/** Who a request acts as: a token, or a user's session (as a token with every scope, for the user). */
export interface RequestIdentity extends TokenIdentity {
  groups?: string[];
  session?: SessionIdentity;
}

declare module 'express-serve-static-core' {
  interface Request {
    identity?: RequestIdentity;
  }
}

export const SESSION_COOKIE = 'holdfast_session';
export const CSRF_COOKIE = 'holdfast_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

export interface GuardOptions {
  tokens: TokenStore;
  sessions?: SessionStore;
  authorizer: Authorizer;
  /** The project of a deployment record, for the routes that name a deployment by id only. */
  deploymentNamespace?: (id: string) => Promise<string | undefined>;
  limiter?: FailedAuthLimiter;
}

export function guard(opts: GuardOptions) {
  const limiter = opts.limiter ?? new FailedAuthLimiter(DEFAULT_FAILED_AUTH_LIMITS);
  return async (req: Request, res: Response, next: NextFunction) => {
    const identity = await authorize(
      {
        method: req.method,
        path: req.path,
        query: req.query as Record<string, unknown>,
        authorization: req.get('authorization'),
        cookie: req.get('cookie'),
        csrfToken: req.get('x-csrf-token'),
        origin: req.get('origin'),
        host: req.get('host'),
        client: clientAddress(req),
      },
      { ...opts, limiter },
      (seconds) => res.setHeader('Retry-After', String(seconds)),
    );
    if (identity) req.identity = identity;
    next();
  };
}

/** What the guard needs to know of a request (an express request, or a WebSocket upgrade). */
export interface IncomingAccess {
  method: string;
  path: string;
  query: Record<string, unknown>;
  /** The Authorization header, or `Bearer <token>` from a WebSocket's bearer subprotocol. */
  authorization?: string;
  /** The Cookie header: a browser's session. */
  cookie?: string;
  /** The X-CSRF-Token header. */
  csrfToken?: string;
  /** The Origin and Host headers: a request signed in by cookie must come from this origin. */
  origin?: string;
  host?: string;
  /** Who failed authentication, for the rate limit. */
  client: string;
}

/**
 * Checks a request against the route table and the caller's roles or scopes; returns the caller's
 * identity (undefined on a public or signed route) or throws Unauthorized, Forbidden, NotFound or
 * TooManyRequests (then `retryAfter` is told the seconds).
 */
export async function authorize(
  req: IncomingAccess,
  opts: GuardOptions & { limiter: FailedAuthLimiter },
  retryAfter: (seconds: number) => void = () => undefined,
): Promise<RequestIdentity | undefined> {
  const { tokens, sessions, limiter } = opts;
  const match = matchRoute(req.method, req.path);
  // A signed route checks its own signature in its handler; a bearer token there means nothing.
  if (match?.rule.access.kind === 'public' || match?.rule.access.kind === 'signed') return undefined;

  const identity = await identify(req, tokens, sessions);
  if (!identity) {
    const waitMs = limiter.retryAfterMs(req.client);
    if (waitMs > 0) {
      retryAfter(Math.ceil(waitMs / 1000));
      throw new HoldfastError('TooManyRequests', `too many failed authentication attempts from ${req.client}; try again in ${Math.ceil(waitMs / 1000)}s`);
    }
    limiter.recordFailure(req.client);
    throw new HoldfastError(
      'Unauthorized',
      req.authorization
        ? 'Unauthorized: the token is unknown, revoked or expired'
        : cookie(req.cookie, SESSION_COOKIE)
          ? 'Unauthorized: the session has ended (signed out, revoked or timed out): sign in again'
          : 'Unauthorized: send an API token as "Authorization: Bearer <token>"',
    );
  }
  if (identity.session && !req.authorization) {
    // A browser sends the cookie wherever the request comes from: prove it comes from this origin.
    if (req.origin && !sameOrigin(req.origin, req.host)) {
      throw new HoldfastError('Forbidden', `forbidden: a request signed in by cookie must come from the dashboard's origin, not ${req.origin}`);
    }
    if (!SAFE_METHODS.has(req.method) && !sessions!.csrfMatches(identity.session, req.csrfToken)) {
      throw new HoldfastError('Forbidden', `forbidden: a request signed in by cookie must send the ${CSRF_COOKIE} cookie's value in X-CSRF-Token`);
    }
  }

  // Deny by default: a route the table does not list is not reachable.
  if (!match) throw new HoldfastError('NotFound', `the server could not find the requested resource (${req.method} ${req.path})`);
  const needed = requiredAccess(match, req.query);
  if (needed === 'authenticated' || needed === 'public') return identity;
  const decision = await decideAccess(identity, await accessRequest(match, needed, opts.deploymentNamespace), opts.authorizer);
  if (!decision.allowed) throw new HoldfastError('Forbidden', `forbidden: ${identity.subject ?? `token "${identity.name}"`} cannot ${req.method} ${req.path} (${decision.reason})`);
  return identity;
}

/**
 * The guard's decision for a request this request stands for (each object of a set apply is
 * checked as the route that writes it would be): undefined when allowed, else the reason.
 */
export async function authorizeAs(
  identity: RequestIdentity | undefined,
  method: Method,
  path: string,
  query: Record<string, unknown>,
  authorizer: Authorizer,
): Promise<string | undefined> {
  const match = matchRoute(method, path);
  if (!identity || !match) return 'no route allows it';
  const needed = requiredAccess(match, query);
  if (needed === 'authenticated' || needed === 'public') return undefined;
  const decision = await decideAccess(identity, await accessRequest(match, needed), authorizer);
  return decision.allowed ? undefined : decision.reason;
}

/**
 * The one decision for every request and access review: a subject's token by the subject's roles
 * (and its scopes when narrowed), a token without a subject by its scopes alone.
 */
export async function decideAccess(identity: RequestIdentity, request: AccessRequest, authorizer: Authorizer): Promise<AccessDecision> {
  if (identity.subject) {
    const subject = parseSubject(identity.subject);
    if (!subject) return { allowed: false, reason: 'the token names an unknown subject' };
    return authorizer.decide(subject.kind === 'User' ? { ...subject, groups: identity.groups ?? [] } : subject, identity.scopes, request);
  }
  return allows(identity.scopes, request.anyOf)
    ? { allowed: true, reason: `token "${identity.name}" holds a scope that allows it` }
    : { allowed: false, reason: `needs ${request.anyOf.join(' or ') || 'a scope no token has'}` };
}

/** The request in role terms: the resource, project and object its path names. */
export async function accessRequest(
  match: RouteMatch,
  anyOf: readonly string[],
  deploymentNamespace?: (id: string) => Promise<string | undefined>,
): Promise<AccessRequest> {
  const { name, id } = match.params;
  // `:plural`, or the literal kind before `:name` (…/servers/:name/shell names a server).
  const segments = match.rule.path.split('/');
  const plural = match.params.plural ?? (kindByPlural(segments[segments.indexOf(':name') - 1] ?? '') ? segments[segments.indexOf(':name') - 1] : undefined);
  // A cluster-scoped kind is never a project's, whatever the path says: project bindings do not reach it.
  const namespace = plural && kindByPlural(plural)?.namespaced === false ? undefined : match.params.namespace;
  const deployment = !namespace && id !== undefined && match.rule.path.includes('/deployments/:id');
  return {
    anyOf,
    ...(plural ? { resource: plural } : {}),
    ...(namespace ? { namespace } : deployment && deploymentNamespace ? { namespace: await deploymentNamespace(id) } : {}),
    ...(name ? { name } : {}),
  };
}

async function identify(req: IncomingAccess, tokens: TokenStore, sessions?: SessionStore): Promise<RequestIdentity | undefined> {
  const value = req.authorization ? req.authorization.match(/^Bearer\s+(\S+)$/i)?.[1] : cookie(req.cookie, SESSION_COOKIE);
  if (!value) return undefined;
  if (!value.startsWith(SESSION_PREFIX)) return req.authorization ? tokens.verify(value) : undefined;
  const session = await sessions?.verify(value);
  if (!session) return undefined;
  return { id: session.sessionId, name: 'session', scopes: ['*'], subject: `user:${session.userName}`, groups: session.groups, session };
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The value of one cookie of a Cookie header. */
export function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** A second, handler-level check; the guard has already enforced the route table. */
export function requireScope(req: Request, anyOf: string[], what: string): void {
  if (!req.identity || !allows(req.identity.scopes, anyOf)) {
    throw new HoldfastError(
      'Forbidden',
      `forbidden: token "${req.identity?.name ?? 'anonymous'}" cannot ${what} (needs ${anyOf.join(' or ') || 'a scope no token has'})`,
    );
  }
}

/** Who acts, for audit rows: the token's subject when it has one, else the token; and the token's id. */
export function actorOf(req: Request): { actor: string; tokenId?: string } {
  if (!req.identity) return { actor: 'anonymous' };
  return { actor: req.identity.subject ?? `token:${req.identity.name}`, tokenId: req.identity.id };
}
