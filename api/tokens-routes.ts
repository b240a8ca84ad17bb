// API tokens over HTTP: list (prefixes only), create (the value is in the answer, once), revoke.
// Guarded by token:admin in the route table; a token can only grant, and only revoke, scopes it holds itself.
//   GET    /apis/holdfast.dev/v1alpha1/tokens[?limit=&continue=]
//   POST   /apis/holdfast.dev/v1alpha1/tokens   {"name": "ci", "scopes": ["deploy:read"], "expiresIn": "30d"}
//          with "subject": "serviceaccount:shop:ci" the token acts for that subject, within its roles
//   DELETE /apis/holdfast.dev/v1alpha1/tokens/{name or id}
import { Router, type Request } from 'express';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import { parsePositiveDuration } from '../core/duration.js';
import { scopesBeyond, type TokenInfo, type TokenStore } from '../security/tokens.js';
import { actorOf } from './auth.js';
import { pageLimit, queryString } from './list-paging.js';
import { API_BASE } from './scopes.js';

const DEFAULT_PAGE = 100;

export function tokenRouter(tokens: TokenStore, clock: () => Date = () => new Date()): Router {
  const r = Router();

  r.get(`${API_BASE}/tokens`, async (req, res) => {
    const page = await tokens.list({ limit: pageLimit(req.query.limit, DEFAULT_PAGE), continue: queryString(req.query.continue) });
    res.json({
      apiVersion: API_VERSION,
      kind: 'TokenList',
      metadata: page.continue ? { continue: page.continue } : {},
      items: page.items.map(asObject),
    });
  });

  r.post(`${API_BASE}/tokens`, async (req, res) => {
    const by = actorOf(req);
    const body = req.body as { name?: unknown } | undefined;
    const name = typeof body?.name === 'string' ? body.name : '';
    try {
      const { scopes, expiresAt, subject } = parseCreate(req, clock());
      const created = await tokens.create(name, scopes, expiresAt, by, subject);
      res.status(201).json({ ...asObject(created.info), token: created.token });
    } catch (err) {
      await tokens.auditFailure(by, 'create', name, describe(err));
      throw err;
    }
  });

  r.delete(`${API_BASE}/tokens/:id`, async (req, res) => {
    const by = actorOf(req);
    const id = String(req.params.id);
    try {
      res.json(asObject(await tokens.revoke(id, by, req.identity?.scopes ?? [])));
    } catch (err) {
      await tokens.auditFailure(by, 'revoke', id, describe(err));
      throw err;
    }
  });

  return r;
}

function parseCreate(req: Request, now: Date): { scopes: string[]; expiresAt?: Date; subject?: string } {
  const body = req.body as { name?: unknown; scopes?: unknown; expiresIn?: unknown; subject?: unknown } | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HoldfastError('BadRequest', 'the request body must be a JSON object');
  if (typeof body.name !== 'string' || !body.name) throw new HoldfastError('BadRequest', 'name is required: a token needs a name, e.g. "ci"');
  const scopes = typeof body.scopes === 'string' ? body.scopes.split(',').map((s) => s.trim()).filter(Boolean) : body.scopes;
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string')) {
    throw new HoldfastError('BadRequest', 'scopes is required: a list of scopes, e.g. ["deploy:read", "deploy:start"]');
  }
  // No escalation: a token administrator grants only what its own token holds.
  const beyond = scopesBeyond(scopes, req.identity?.scopes ?? []);
  if (beyond.length) {
    throw new HoldfastError('Forbidden', `forbidden: token "${req.identity?.name}" cannot grant scopes it does not hold: ${beyond.join(', ')}`);
  }
  let expiresAt: Date | undefined;
  if (body.expiresIn !== undefined) {
    if (typeof body.expiresIn !== 'string') throw new HoldfastError('BadRequest', 'expiresIn must be a duration such as "30d"');
    expiresAt = new Date(now.getTime() + parsePositiveDuration(body.expiresIn, 'expiresIn'));
  }
  if (body.subject !== undefined && typeof body.subject !== 'string') throw new HoldfastError('BadRequest', 'subject must be a string such as "serviceaccount:shop:ci"');
  return { scopes, expiresAt, ...(body.subject ? { subject: body.subject } : {}) };
}

const asObject = (info: TokenInfo) => ({ apiVersion: API_VERSION, kind: 'Token', ...info });

function describe(err: unknown): string {
  return err instanceof HoldfastError ? `${err.reason}: ${err.message}` : 'InternalError';
}
