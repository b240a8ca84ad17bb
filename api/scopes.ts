// Authorization: deny by default. ROUTES is the one table that says what every API route needs:
// nothing (public), any valid token, or one of a list of scopes. The guard (api/auth.ts) matches
// each request against this table before any handler runs; a request that matches no row is refused,
// and a test fails for any registered express route without a row here.
//
// The scopes themselves, and how a token's scopes are matched, are in security/scopes.ts.
//
// To add a route: add one row, more specific paths anywhere (the most specific match wins), e.g.
//   { method: 'POST', path: `${API_BASE}/namespaces/:namespace/services/:name/deployments`, access: scopes('deploy:start') },
import { HoldfastError } from '../core/errors.js';
import { GROUP, VERSION, kindByPlural } from '../core/resource.js';
import { resourceScope, type Lane } from '../security/scopes.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const API_BASE = `/apis/${GROUP}/${VERSION}`;

export type Access =
  /** No token needed (health probes). */
  | { kind: 'public' }
  /** No API token: the handler verifies the request's own signature and refuses it with 401 otherwise (webhooks). */
  | { kind: 'signed' }
  /** Any valid token, whatever its scopes (discovery). */
  | { kind: 'authenticated' }
  /** Any one of these scopes. */
  | { kind: 'scopes'; anyOf: readonly string[] }
  /**
   * The scope family of the kind named by the `:plural` path parameter, in this lane; a `write`
   * with `?dryRun=All` needs only the planning lane.
   */
  | { kind: 'resource'; lane: 'read' | 'write' };

export interface RouteRule {
  method: Method;
  /** express path syntax: literal segments and `:param` segments. */
  path: string;
  access: Access;
}

export const PUBLIC: Access = { kind: 'public' };
export const SIGNED: Access = { kind: 'signed' };
export const ANY_TOKEN: Access = { kind: 'authenticated' };
export const scopes = (...anyOf: string[]): Access => ({ kind: 'scopes', anyOf });
const resource = (lane: 'read' | 'write'): Access => ({ kind: 'resource', lane });

/** Every resource route in its cluster-scoped and namespaced form. */
function resourceRoutes(suffix: string, rows: Array<[Method, Access]>): RouteRule[] {
  return [`${API_BASE}/:plural${suffix}`, `${API_BASE}/namespaces/:namespace/:plural${suffix}`].flatMap((path) =>
    rows.map(([method, access]) => ({ method, path, access })),
  );
}

export const ROUTES: readonly RouteRule[] = [
  { method: 'GET', path: '/healthz', access: PUBLIC },
  { method: 'GET', path: '/readyz', access: PUBLIC },
  { method: 'GET', path: '/livez', access: PUBLIC },
  // Signed with the GitRepository's webhook token instead (api/webhooks-routes.ts).
  { method: 'POST', path: '/hooks/git/:namespace/:name', access: SIGNED },
  { method: 'GET', path: '/metrics', access: scopes('metrics:read') },

  // Discovery and version: any valid token, as in Kubernetes.
  { method: 'GET', path: '/api', access: ANY_TOKEN },
  { method: 'GET', path: '/api/v1', access: ANY_TOKEN },
  { method: 'GET', path: '/apis', access: ANY_TOKEN },
  { method: 'GET', path: `/apis/${GROUP}`, access: ANY_TOKEN },
  { method: 'GET', path: API_BASE, access: ANY_TOKEN },
  { method: 'GET', path: '/version', access: ANY_TOKEN },
  { method: 'GET', path: '/openapi/v2', access: ANY_TOKEN },
  { method: 'GET', path: '/openapi/v3', access: ANY_TOKEN },
  { method: 'GET', path: `/openapi/v3${API_BASE}`, access: ANY_TOKEN },

  { method: 'GET', path: `${API_BASE}/tokens`, access: scopes('token:admin') },
  { method: 'POST', path: `${API_BASE}/tokens`, access: scopes('token:admin') },
  { method: 'DELETE', path: `${API_BASE}/tokens/:id`, access: scopes('token:admin') },
  { method: 'GET', path: `${API_BASE}/auditlog`, access: scopes('audit:read') },
  // Sign-in (api/auth-routes.ts): the login itself is public (it is limited per user and address).
  { method: 'POST', path: '/auth/login', access: PUBLIC },
  { method: 'POST', path: '/auth/logout', access: ANY_TOKEN },
  { method: 'GET', path: '/auth/whoami', access: ANY_TOKEN },
  { method: 'GET', path: '/auth/methods', access: PUBLIC },
  { method: 'GET', path: '/auth/oidc/login', access: PUBLIC },
  { method: 'GET', path: '/auth/oidc/callback', access: PUBLIC },
  // The CLI redeems its one-time sign-in code (bound to its PKCE verifier) for a session.
  { method: 'POST', path: '/auth/oidc/token', access: PUBLIC },
  { method: 'POST', path: `${API_BASE}/users`, access: scopes('user:admin') },
  { method: 'POST', path: `${API_BASE}/users/:name/totp`, access: scopes('user:admin') },
  // Access reviews (api/access-reviews-routes.ts): anyone may ask about themselves; asking about
  // another subject reads its bindings.
  { method: 'POST', path: `${API_BASE}/selfsubjectaccessreviews`, access: ANY_TOKEN },
  { method: 'POST', path: `${API_BASE}/subjectaccessreviews`, access: scopes('rbac:read') },
  { method: 'POST', path: `${API_BASE}/encryptionkey/rotate`, access: scopes('secret:rotate') },

  // Service views and drift (api/views-routes.ts).
  { method: 'GET', path: `${API_BASE}/namespaces/:namespace/services/:name/views`, access: scopes('service:read') },
  { method: 'GET', path: `${API_BASE}/namespaces/:namespace/services/:name/drift/history`, access: scopes('service:read') },
  { method: 'GET', path: `${API_BASE}/drift`, access: scopes('service:read') },
  { method: 'GET', path: `${API_BASE}/namespaces/:namespace/services/:name/log`, access: scopes('logs:read') },

  // Terminals (api/terminal-routes.ts): WebSockets, checked at the upgrade against these rows.
  { method: 'GET', path: `${API_BASE}/namespaces/:namespace/services/:name/exec`, access: scopes('terminal:open') },
  { method: 'GET', path: `${API_BASE}/servers/:name/shell`, access: scopes('terminal:open') },

  // Server cleanup (api/server-cleanup-routes.ts): the preview is planning, the run its own command.
  { method: 'GET', path: `${API_BASE}/servers/:name/cleanup`, access: scopes('server:plan', 'server:cleanup') },
  { method: 'POST', path: `${API_BASE}/servers/:name/cleanup`, access: scopes('server:cleanup') },
  // Swarm node availability (api/swarm-nodes-routes.ts): drain, pause, activate.
  { method: 'POST', path: `${API_BASE}/servers/:name/nodes/:node/availability`, access: scopes('server:drain') },

  // Deployments and the actions that make them (api/deployments-routes.ts).
  { method: 'GET', path: `${API_BASE}/namespaces/:namespace/services/:name/deployments`, access: scopes('deploy:read') },
  { method: 'POST', path: `${API_BASE}/namespaces/:namespace/services/:name/sync`, access: scopes('deploy:start') },
  { method: 'POST', path: `${API_BASE}/namespaces/:namespace/services/:name/rollback`, access: scopes('deploy:rollback') },
  { method: 'GET', path: `${API_BASE}/deployments/:id`, access: scopes('deploy:read') },
  { method: 'GET', path: `${API_BASE}/deployments/:id/logs`, access: scopes('deploy:read') },
  { method: 'POST', path: `${API_BASE}/deployments/:id/cancel`, access: scopes('deploy:cancel') },

  // Backup actions (api/backups-routes.ts); the kept backups are in the policy's status.
  { method: 'POST', path: `${API_BASE}/namespaces/:namespace/backuppolicies/:name/run`, access: scopes('backup:run') },
  { method: 'POST', path: `${API_BASE}/namespaces/:namespace/backuppolicies/:name/restore`, access: scopes('backup:restore') },

  // Build context tars `holdfast apply` uploads for compose builds (api/build-contexts-routes.ts):
  // part of writing a Service.
  { method: 'GET', path: `${API_BASE}/namespaces/:namespace/buildcontexts/:digest`, access: scopes('service:read', 'service:write') },
  { method: 'PUT', path: `${API_BASE}/namespaces/:namespace/buildcontexts/:digest`, access: scopes('service:write') },

  // Server-side apply of a set (api/apply-routes.ts): any token at the door, then each object of the
  // body needs what this table asks of the PUT that writes it (its kind's write scope, or plan for a
  // dry run, where it lives), decided by the handler through authorizeAs.
  { method: 'POST', path: `${API_BASE}/apply`, access: ANY_TOKEN },

  // The generic resource REST routes (api/resources.ts).
  ...resourceRoutes('', [
    ['GET', resource('read')],
    ['POST', resource('write')],
  ]),
  ...resourceRoutes('/:name', [
    ['GET', resource('read')],
    ['PUT', resource('write')],
    ['PATCH', resource('write')],
    ['DELETE', resource('write')],
  ]),
  ...resourceRoutes('/:name/status', [
    ['GET', resource('read')],
    ['PUT', resource('write')],
    ['PATCH', resource('write')],
  ]),
  ...resourceRoutes('/:name/:sub', [['GET', resource('read')]]),
];

export interface RouteMatch {
  rule: RouteRule;
  params: Record<string, string>;
}

interface CompiledRule {
  rule: RouteRule;
  segments: string[];
}

const compile = (rules: readonly RouteRule[]): CompiledRule[] => rules.map((rule) => ({ rule, segments: rule.path.split('/').slice(1) }));

/**
 * The table row for a request: among the rows whose pattern matches, the most specific (a literal
 * segment beats a parameter, left to right), as express dispatches when routes are registered
 * specific first. Literal segments compare case-insensitively and one trailing slash is ignored,
 * as express does; parameters are URL-decoded.
 */
export function matchRoute(method: string, path: string, rules: readonly RouteRule[] = ROUTES): RouteMatch | undefined {
  const compiled = rules === ROUTES ? COMPILED_ROUTES : compile(rules);
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (!trimmed.startsWith('/')) return undefined;
  const parts = trimmed.split('/').slice(1);
  let best: { c: CompiledRule; params: Record<string, string> } | undefined;
  for (const c of compiled) {
    if (c.rule.method !== method || c.segments.length !== parts.length) continue;
    const params = matchSegments(c.segments, parts);
    if (!params) continue;
    if (!best || moreSpecific(c.segments, best.c.segments)) best = { c, params };
  }
  return best && { rule: best.c.rule, params: best.params };
}

const COMPILED_ROUTES = compile(ROUTES);

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(':')) {
      if (!parts[i]) return undefined;
      let value: string;
      try {
        value = decodeURIComponent(parts[i]);
      } catch {
        return undefined;
      }
      params[p.slice(1)] = value;
    } else if (p.toLowerCase() !== parts[i].toLowerCase()) return undefined;
  }
  return params;
}

function moreSpecific(a: string[], b: string[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const aLiteral = !a[i].startsWith(':');
    const bLiteral = !b[i].startsWith(':');
    if (aLiteral !== bLiteral) return aLiteral;
  }
  return false;
}

/**
 * What a matched request needs: 'public', 'authenticated', or the scopes of which it needs one.
 * A resource route naming an unknown kind is NotFound (no scope could ever allow it).
 */
export function requiredAccess(match: RouteMatch, query: Record<string, unknown>): 'public' | 'authenticated' | readonly string[] {
  const { access } = match.rule;
  switch (access.kind) {
    case 'signed':
      return 'public';
    case 'public':
    case 'authenticated':
      return access.kind;
    case 'scopes':
      return access.anyOf;
    case 'resource': {
      const info = kindByPlural(match.params.plural ?? '');
      if (!info) {
        throw new HoldfastError('NotFound', `the server could not find the requested resource: unknown resource "${match.params.plural}" in ${GROUP}/${VERSION}`);
      }
      // Only the exact value the handlers accept as a dry run lowers the lane.
      const lane: Lane = access.lane === 'write' && query.dryRun === 'All' ? 'plan' : access.lane;
      return resourceScope(info.kind, lane);
    }
  }
}
