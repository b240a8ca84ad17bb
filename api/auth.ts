// Authentication and authorization, in one guard in front of every route: the request is matched
// against the route table (api/scopes.ts); unless the row is public, the request must carry
// `Authorization: Bearer <token>` for a valid token, which must hold a scope the row names. The
// identity is attached to the request for audit. Failed authentication is rate-limited per client.
import type { NextFunction, Request, Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import { DEFAULT_FAILED_AUTH_LIMITS, FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import type { TokenIdentity, TokenStore } from '../security/tokens.js';
import { allows, matchRoute, requiredAccess } from './scopes.js';

declare module 'express-serve-static-core' {
  interface Request {
    identity?: TokenIdentity;
  }
}

export interface GuardOptions {
  tokens: TokenStore;
  limiter?: FailedAuthLimiter;
}

export function guard({ tokens, limiter = new FailedAuthLimiter(DEFAULT_FAILED_AUTH_LIMITS) }: GuardOptions) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const match = matchRoute(req.method, req.path);
    if (match?.rule.access.kind === 'public') return next();

    const identity = await identify(req, tokens);
    if (!identity) {
      const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
      const waitMs = limiter.retryAfterMs(client);
      if (waitMs > 0) {
        res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
        throw new HoldfastError('TooManyRequests', `too many failed authentication attempts from ${client}; try again in ${Math.ceil(waitMs / 1000)}s`);
      }
      limiter.recordFailure(client);
      throw new HoldfastError(
        'Unauthorized',
        req.get('authorization')
          ? 'Unauthorized: the token is unknown, revoked or expired'
          : 'Unauthorized: send an API token as "Authorization: Bearer <token>"',
      );
    }
    req.identity = identity;

    // Deny by default: a route the table does not list is not reachable.
    if (!match) throw new HoldfastError('NotFound', `the server could not find the requested resource (${req.method} ${req.path})`);
    const needed = requiredAccess(match, req.query as Record<string, unknown>);
    if (needed !== 'authenticated' && needed !== 'public' && !allows(identity.scopes, needed)) {
      throw new HoldfastError(
        'Forbidden',
        `forbidden: token "${identity.name}" cannot ${req.method} ${req.path} (needs ${needed.join(' or ') || 'a scope no token has'})`,
      );
    }
    next();
  };
}

async function identify(req: Request, tokens: TokenStore): Promise<TokenIdentity | undefined> {
  const m = (req.get('authorization') ?? '').match(/^Bearer\s+(\S+)$/i);
  return m ? tokens.verify(m[1]) : undefined;
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

export function actorOf(req: Request): { actor: string; tokenId?: string } {
  return req.identity ? { actor: `token:${req.identity.name}`, tokenId: req.identity.id } : { actor: 'anonymous' };
}
