// The express application: health, discovery, resources, errors. Built from its dependencies so
// tests can mount it on any port.
import express, { type Express, type Request, type Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import { kindByPlural } from '../core/resource.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import type { KeyRotation } from '../security/key-rotation.js';
import type { Redactor } from '../security/redactor.js';
import type { TokenStore } from '../security/tokens.js';
import type { DeploymentActions } from '../controllers/deployment-actions.js';
import type { BackupActions } from '../controllers/backups/backup-controller.js';
import type { BuildContextStore } from '../store/build-contexts.js';
import type { DeploymentStore } from '../store/deployments.js';
import type { DriftStore } from '../store/drift.js';
import type { ServiceViewsSource } from '../controllers/drift/drift-controller.js';
import type { ResourceStore } from '../store/resource-store.js';
import type { Admission } from './admission.js';
import { guard } from './auth.js';
import { auditRouter } from './audit-routes.js';
import { buildContextRouter } from './build-contexts-routes.js';
import { deploymentRouter } from './deployments-routes.js';
import { backupRouter } from './backups-routes.js';
import { discoveryRouter } from './discovery.js';
import { keyRotationRouter } from './key-rotation-routes.js';
import { redactResponses } from './redaction.js';
import { resourceRouter, type ResourceRoutesDeps } from './resources.js';
import { errorHandler } from './status.js';
import { tokenRouter } from './tokens-routes.js';
import { viewsRouter } from './views-routes.js';

export const BODY_LIMIT_BYTES = 2 * 1024 * 1024;

export interface AppDeps {
  store: ResourceStore;
  admission: Admission;
  tokens: TokenStore;
  log: Logger;
  version: string;
  /** Answers /readyz: the database responds. */
  ready: () => Promise<boolean>;
  subresources?: ResourceRoutesDeps['subresources'];
  /** Deployment records; with them the deployment routes are served. */
  deployments?: DeploymentStore;
  /** Sync, rollback and cancel (the service controller); without it those routes answer 503. */
  deploymentActions?: DeploymentActions;
  /** What the backup routes call to take and restore backups (the backup controller). */
  backupActions?: BackupActions;
  /** Build context tars; with them the upload routes `holdfast apply` uses for compose builds are served. */
  buildContexts?: BuildContextStore;
  /** Drift records; with them the views, drift and drift history routes are served. */
  drift?: DriftStore;
  /** Reads a Service's declared, frozen and live views (the drift controller); without it the views answer 503. */
  views?: ServiceViewsSource;
  /** Built dashboard (dashboard/dist), served at `/` when present. */
  dashboardDir?: string;
  metrics?: Metrics;
  /** Masks every known secret value in every response (security/redactor.ts). */
  redactor: Redactor;
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

function noCacheForIndex(res: Response, path: string) {
  if (path.endsWith('index.html')) res.setHeader('Cache-Control', 'no-cache');
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(redactResponses(deps.redactor));
  if (deps.metrics) app.use(countRequests(deps.metrics));

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await deps.ready().catch(() => false);
    res.status(ok ? 200 : 503).type('text/plain').send(ok ? 'ok' : 'database not reachable');
  });

  // The dashboard is static files; it signs in with a token like any other client.
  if (deps.dashboardDir) app.use(express.static(deps.dashboardDir, { index: 'index.html', maxAge: '1h', setHeaders: noCacheForIndex }));
  // Every request past this point passes the route table (api/scopes.ts): deny by default.
  app.use(guard({ tokens: deps.tokens, limiter: deps.authLimiter }));
  app.use(
    express.json({
      limit: BODY_LIMIT_BYTES,
      type: ['application/json', 'application/*+json'],
      strict: false,
    }),
  );
  if (deps.metrics) {
    const registry = deps.metrics.registry;
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  app.use(discoveryRouter(deps.version));
  app.use(tokenRouter(deps.tokens));
  app.use(auditRouter(deps.store.db));
  // Before the generic resource routes, whose `/:plural/:name/:sub` patterns would take these paths.
  if (deps.deployments) app.use(deploymentRouter({ store: deps.store, deployments: deps.deployments, actions: deps.deploymentActions }));
  app.use(backupRouter({ store: deps.store, actions: deps.backupActions }));
  if (deps.buildContexts) app.use(buildContextRouter({ store: deps.store, buildContexts: deps.buildContexts }));
  if (deps.drift) app.use(viewsRouter({ store: deps.store, drift: deps.drift, views: deps.views }));
  if (deps.keyRotation) app.use(keyRotationRouter(deps.keyRotation));
  app.use(resourceRouter({ store: deps.store, admission: deps.admission, subresources: deps.subresources }));
  app.use((req: Request, _res: Response) => {
    throw new HoldfastError('NotFound', `the server could not find the requested resource (${req.method} ${req.path})`);
  });
  app.use(errorHandler(deps.log));
  return app;
}
