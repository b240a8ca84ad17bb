// POST /hooks/git/{namespace}/{name}: a Git host says a push happened. The request carries no API
// token; it is signed with the GitRepository's webhook token (security/webhook-signature.ts). A
// request that does not verify is answered 401 and audited, and nothing is fetched; one that does
// starts a sync at once (on the replica that runs syncs, wherever the request arrived). Every refusal reads the same, so the hook tells nobody which sources exist.
import express, { Router, type Request, type Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import type { Sealer } from '../security/sealing.js';
import { resolveSecretValue } from '../security/secret-values.js';
import { verifyWebhook } from '../security/webhook-signature.js';
import type { ResourceStore } from '../store/resource-store.js';
import { statusFor, successStatus } from './status.js';

export const GIT_WEBHOOK_PATH = '/hooks/git/:namespace/:name';
const WEBHOOK_BODY_LIMIT = '1mb';

export interface GitSyncRequests {
  /** Starts the sync here, or records the request on the GitRepository for the replica that runs syncs. */
  requestSync(key: string, trigger: 'webhook', actor: string): Promise<void>;
}

export function gitWebhookRouter(deps: { store: ResourceStore; sealer: Sealer; syncs: GitSyncRequests }): Router {
  const r = Router();
  r.post(GIT_WEBHOOK_PATH, express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }), async (req: Request, res: Response) => {
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const ctx = { actor: `webhook:${req.ip ?? 'unknown'}` };
    const scheme = await verified(deps, namespace, name, req.headers, body);
    if (!scheme) {
      await deps.store.auditFailure(ctx, 'webhook', 'GitRepository', namespace, name, 'the webhook signature does not verify');
      res.status(401).json(statusFor(new HoldfastError('Unauthorized', 'the webhook signature does not verify against the GitRepository\'s webhook token')));
      return;
    }
    await deps.store.audit(ctx, { verb: 'webhook', kind: 'GitRepository', namespace, name, outcome: 'Success', message: `verified (${scheme}); sync requested` });
    await deps.syncs.requestSync(`${namespace}/${name}`, 'webhook', ctx.actor);
    res.status(202).json({ ...successStatus(`sync of gitrepositories.holdfast.dev "${name}" requested`, { name, kind: 'gitrepositories', group: 'holdfast.dev' }), code: 202 });
  });
  return r;
}

async function verified(
  deps: { store: ResourceStore; sealer: Sealer },
  namespace: string,
  name: string,
  headers: Request['headers'],
  body: Buffer,
): Promise<string | undefined> {
  const repo = await deps.store.get('GitRepository', namespace, name).catch(() => undefined);
  const secretName = (repo?.spec as { webhook?: { secretRef?: { name?: string } } } | undefined)?.webhook?.secretRef?.name;
  if (!repo || !secretName) return undefined;
  const token = await resolveSecretValue(deps.store, deps.sealer, namespace, secretName, 'token').catch(() => undefined);
  if (!token) return undefined;
  return verifyWebhook(headers, body, token);
}
