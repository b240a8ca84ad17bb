// The express application: health, discovery, resources, errors. Built from its dependencies so
// tests can mount it on any port.
import { readdirSync } from 'node:fs';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import { kindByPlural } from '../core/resource.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { KeyRotation } from '../security/key-rotation.js';
import type { Redactor } from '../security/redactor.js';
import type { OidcSignIn } from '../security/oidc.js';
import type { Sealer } from '../security/sealing.js';
import type { TokenStore } from '../security/tokens.js';
import { Authorizer } from '../security/authorizer.js';
import { SessionStore } from '../security/sessions.js';
import { UserStore } from '../security/users.js';
import type { DeploymentActions } from '../controllers/deployment-actions.js';
import type { BackupActions } from '../controllers/backups/backup-controller.js';
import type { BuildContextStore } from '../store/build-contexts.js';
import type { DeploymentStore } from '../store/deployments.js';
import type { DriftStore } from '../store/drift.js';
import type { ServiceViewsSource } from '../controllers/drift/drift-controller.js';
import type { ResourceStore } from '../store/resource-store.js';
import type { Admission } from '../controllers/admission.js';
import { guard } from './auth.js';
import { accessReviewRouter } from './access-reviews-routes.js';
import { authRouter } from './auth-routes.js';
import { oidcRouter } from './oidc-routes.js';
import { auditRouter } from './audit-routes.js';
import { buildContextRouter } from './build-contexts-routes.js';
import { deploymentRouter } from './deployments-routes.js';
import { backupRouter } from './backups-routes.js';
import { gitWebhookRouter } from './webhooks-routes.js';
import { discoveryRouter } from './discovery.js';
import { openApiRouter } from './openapi-routes.js';
import { keyRotationRouter } from './key-rotation-routes.js';
import { redactResponses } from './redaction.js';
import { APPLY_PATCH_TYPE, checkRequestBody, checkRequestUrl, JSON_BODY_TYPES } from './request-body.js';
import { resourceRouter, type ResourceRoutesDeps } from './resources.js';
import { applyRouter } from './apply-routes.js';
import { errorHandler } from './status.js';
import { tokenRouter } from './tokens-routes.js';
import { viewsRouter } from './views-routes.js';
import { logsRouter } from './logs-routes.js';
import type { ServiceLogSource } from '../controllers/logs/service-logs.js';
import type { TerminalSessions } from '../controllers/terminal/terminal-sessions.js';
import type { EventRecorder } from '../controllers/events.js';
import { DEFAULT_FAILED_AUTH_LIMITS, FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import { terminalRouter, terminalServer, type TerminalServer } from './terminal-routes.js';
import { serverCleanupRouter } from './server-cleanup-routes.js';
import type { ServerCleanup } from '../controllers/servers/server-cleanup.js';
import { swarmNodesRouter } from './swarm-nodes-routes.js';
import type { SwarmNodeOperations } from '../controllers/servers/swarm-node-operations.js';

export const BODY_LIMIT_BYTES = 2 * 1024 * 1024;

export interface AppDeps {
  store: ResourceStore;
  admission: Admission;
  tokens: TokenStore;
  log: Logger;
  version: string;
  /** Answers /readyz: true, or why this replica should not be sent requests yet. */
  ready: () => Promise<true | string>;
  subresources?: ResourceRoutesDeps['subresources'];
  /** Deployment records; with them the deployment routes are served. */
  deployments?: DeploymentStore;
  /** Sync, rollback and cancel (the service controller); without it those routes answer 503. */
  deploymentActions?: DeploymentActions;
  /** What the backup routes call to take and restore backups (the backup controller). */
  backupActions?: BackupActions;
  /** What the Git webhook receiver needs: the webhook tokens (sealed Secrets) and who syncs (the GitRepository controller). */
  gitWebhooks?: Parameters<typeof gitWebhookRouter>[0];
  /** Build context tars; with them the upload routes `holdfast apply` uses for compose builds are served. */
  buildContexts?: BuildContextStore;
  /** Drift records; with them the views, drift and drift history routes are served. */
  drift?: DriftStore;
  /** Reads a Service's declared, frozen and live views (the drift controller); without it the views answer 503. */
  views?: ServiceViewsSource;
  /** Reads a Service's container logs over its server's session; without it the log route answers 503. */
  serviceLogs?: ServiceLogSource;
  /** Starts exec and shell processes for the terminal WebSockets; without it they answer 503. */
  terminals?: TerminalSessions;
  /** Previews and runs server cleanups (over the controllers' host connections); without it those routes answer 503. */
  serverCleanup?: ServerCleanup;
  /** Drains, pauses and activates Swarm nodes (over the controllers' host connections); without it that route answers 503. */
  swarmNodes?: SwarmNodeOperations;
  /** Records terminal sessions and cleanups on the timeline of their Service or Server. */
  events?: EventRecorder;
  /** A terminal with neither input nor output this long is ended (15 minutes by default). */
  terminalIdleTimeoutMs?: number;
  /** Built dashboard (dashboard/dist), served at `/` when present. */
  dashboardDir?: string;
  metrics?: Metrics;
  /** Masks every known secret value in every response (security/redactor.ts). */
  redactor: Redactor;
  /** Seals users' TOTP secrets (and signs a single sign-on in progress); without it neither works. */
  sealer?: Sealer;
  /** Single sign-on through an OpenID Provider; without it /auth/oidc answers 404. */
  oidc?: OidcSignIn;
  /** Online encryption key rotation (POST …/encryptionkey/rotate). */
  keyRotation?: KeyRotation;
  /** Failed-authentication limit per client; the default allows 10 failures a minute. */
  authLimiter?: FailedAuthLimiter;
}

/** Counts requests by route pattern (never the raw path: names would explode the label space). */
function countRequests(metrics: Metrics) {
  return (req: Request, res: Response, next: () => void) => {
    const started = performance.now();
    res.on('finish', () => {
      const pattern = (req.route?.path as string | undefined) ?? (res.statusCode === 404 ? 'unmatched' : 'static');
      // params are gone once an error left the route: read the plural from the path at its place.
      const plural = req.path.split('/')[pattern.split('/').indexOf(':plural')];
      const route = plural && kindByPlural(plural) ? pattern.replace(':plural', plural) : pattern;
      metrics.apiRequests.inc({ route, method: req.method, code: String(res.statusCode) });
      if (req.query.watch !== 'true') metrics.apiRequestDuration.observe({ route, method: req.method }, (performance.now() - started) / 1000);
    });
    next();
  };
}

/** The dashboard loads only its own scripts and styles, talks only to this origin, and is never framed. */
const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // The terminal (xterm.js) writes its theme and cell size into <style> elements it creates; style
  // attributes in markup and every script stay refused.
  "style-src-elem 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function dashboardHeaders(res: Response, path: string) {
  if (path.endsWith('index.html')) res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
}

/**
 * The dashboard's files, looked up only for the paths they can be at (`/` and the build's own
 * top-level names): every API request went through a stat of the directory before, ~0.4 ms each.
 */
function dashboardFiles(dir: string): RequestHandler {
  const files = express.static(dir, { index: 'index.html', maxAge: '1h', setHeaders: dashboardHeaders });
  const topLevel = new Set(readdirSync(dir));
  return (req: Request, res: Response, next: NextFunction) => {
    const first = req.path.split('/')[1] ?? '';
    if (first === '' || topLevel.has(first)) files(req, res, next);
    else next();
  };
}

/** How many deployments' projects the access check remembers. */
const DEPLOYMENT_NAMESPACES_KEPT = 10_000;

/**
 * The project of a deployment, for the access check of `/deployments/{id}…`, remembered: a
 * deployment never moves, and `apply --wait` asks about each of its rollouts twice a second, each
 * time a read of the whole record that the route then reads again.
 */
function deploymentNamespaces(deployments: DeploymentStore): (id: string) => Promise<string | undefined> {
  const known = new Map<string, string>();
  return async (id) => {
    const remembered = known.get(id);
    if (remembered !== undefined) return remembered;
    const namespace = (await deployments.get(id))?.namespace;
    if (namespace !== undefined) {
      if (known.size >= DEPLOYMENT_NAMESPACES_KEPT) known.clear();
      known.set(id, namespace);
    }
    return namespace;
  };
}

/** The API; its terminal WebSockets are served from the HTTP server's `upgrade` event through `terminals`. */
export type HoldfastApp = Express & { terminals: TerminalServer };

export function createApp(deps: AppDeps): HoldfastApp {
  const app = express();
  const authLimiter = deps.authLimiter ?? new FailedAuthLimiter(DEFAULT_FAILED_AUTH_LIMITS);
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(redactResponses(deps.redactor));
  if (deps.metrics) app.use(countRequests(deps.metrics));

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  // The process answers: restart it only when this fails.
  app.get('/livez', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', async (_req, res) => {
    const answer = await deps.ready().catch(() => 'database not reachable');
    res.status(answer === true ? 200 : 503).type('text/plain').send(answer === true ? 'ok' : answer);
  });

  // The dashboard is static files; it signs in with a token like any other client.
  if (deps.dashboardDir) app.use(dashboardFiles(deps.dashboardDir));
  // Every request past this point passes the route table (api/scopes.ts): deny by default.
  const deployments = deps.deployments;
  const users = new UserStore(deps.store.db, { sealer: deps.sealer });
  const sessions = new SessionStore(deps.store.db);
  const access = {
    tokens: deps.tokens,
    sessions,
    authorizer: new Authorizer(deps.store),
    limiter: authLimiter,
    ...(deployments ? { deploymentNamespace: deploymentNamespaces(deployments) } : {}),
  };
  app.use(checkRequestUrl);
  app.use(guard(access));
  // Before the JSON parser: the signature is checked over the body's exact bytes.
  if (deps.gitWebhooks) app.use(gitWebhookRouter(deps.gitWebhooks));
  app.use(
    express.json({
      limit: BODY_LIMIT_BYTES,
      type: JSON_BODY_TYPES,
      strict: false,
    }),
  );
  app.use(express.text({ limit: BODY_LIMIT_BYTES, type: APPLY_PATCH_TYPE }));
  app.use(checkRequestBody);
  if (deps.metrics) {
    const registry = deps.metrics.registry;
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  app.use(discoveryRouter(deps.version));
  app.use(openApiRouter(deps.version));
  app.use(tokenRouter(deps.tokens));
  app.use(auditRouter(deps.store.db));
  app.use(accessReviewRouter(access.authorizer));
  app.use(authRouter({ users, sessions, store: deps.store }));
  app.use(oidcRouter({ oidc: deps.oidc, sealer: deps.sealer, users, sessions }));
  // Before the generic resource routes, whose `/:plural/:name/:sub` patterns would take these paths.
  if (deps.deployments) app.use(deploymentRouter({ store: deps.store, deployments: deps.deployments, actions: deps.deploymentActions }));
  app.use(backupRouter({ store: deps.store, actions: deps.backupActions }));
  if (deps.buildContexts) app.use(buildContextRouter({ store: deps.store, buildContexts: deps.buildContexts }));
  if (deps.drift) app.use(viewsRouter({ store: deps.store, drift: deps.drift, views: deps.views }));
  app.use(logsRouter({ store: deps.store, redactor: deps.redactor, logs: deps.serviceLogs }));
  app.use(terminalRouter());
  app.use(serverCleanupRouter({ store: deps.store, redactor: deps.redactor, cleanup: deps.serverCleanup, events: deps.events }));
  app.use(swarmNodesRouter({ store: deps.store, nodes: deps.swarmNodes, events: deps.events }));
  if (deps.keyRotation) app.use(keyRotationRouter(deps.keyRotation));
  app.use(applyRouter({ store: deps.store, admission: deps.admission, authorizer: access.authorizer }));
  app.use(resourceRouter({ store: deps.store, admission: deps.admission, subresources: deps.subresources }));
  app.use((req: Request, _res: Response) => {
    throw new HoldfastError('NotFound', `the server could not find the requested resource (${req.method} ${req.path})`);
  });
  app.use(errorHandler(deps.log));
  const terminals = terminalServer({
    store: deps.store,
    access,
    redactor: deps.redactor,
    log: deps.log,
    terminals: deps.terminals,
    events: deps.events,
    idleTimeoutMs: deps.terminalIdleTimeoutMs,
  });
  return Object.assign(app, { terminals });
}
