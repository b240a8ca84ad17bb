// Authentication: every API call carries `Authorization: Bearer <token>`. The identity it resolves
// to is attached to the request for authorization and audit.
import type { NextFunction, Request, Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import type { TokenIdentity, TokenStore } from '../security/tokens.js';
import { allows } from './scopes.js';

declare module 'express-serve-static-core' {
  interface Request {
    identity?: TokenIdentity;
  }
}

export function authenticate(tokens: TokenStore) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = header.match(/^Bearer\s+(\S+)$/i);
    if (!m) throw new HoldfastError('Unauthorized', 'Unauthorized: send an API token as "Authorization: Bearer <token>"');
    const identity = await tokens.verify(m[1]);
    if (!identity) throw new HoldfastError('Unauthorized', 'Unauthorized: the token is unknown, revoked or expired');
    req.identity = identity;
    next();
  };
}

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
