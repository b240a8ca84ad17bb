// Build context tars over HTTP, content-addressed: `holdfast apply` asks whether the control plane
// holds a context's digest and uploads the tar only when it does not. Guarded by the service scopes
// in the route table (api/scopes.ts); an upload writes one audit row.
//   GET …/namespaces/{ns}/buildcontexts/sha256:{hex}   200 with its size, or 404
//   PUT …/namespaces/{ns}/buildcontexts/sha256:{hex}   body application/x-tar; 201 stored, 200 already there
import express, { Router, type Request } from 'express';
import { BUILD_CONTEXT_MAX_BYTES, isContextDigest } from '../core/deploy/build-context.js';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import { writeAudit } from '../store/audit.js';
import { BuildContextStore, DigestMismatch, type BuildContextInfo } from '../store/build-contexts.js';
import type { ResourceStore } from '../store/resource-store.js';
import { actorOf } from './auth.js';
import { API_BASE } from './scopes.js';

export const BUILD_CONTEXT_PATH = `${API_BASE}/namespaces/:namespace/buildcontexts/:digest`;
const TAR_TYPE = 'application/x-tar';

export interface BuildContextRoutesDeps {
  store: ResourceStore;
  buildContexts: BuildContextStore;
}

function buildContextObject(info: BuildContextInfo) {
  return {
    apiVersion: API_VERSION,
    kind: 'BuildContext',
    metadata: { name: info.digest, namespace: info.namespace, creationTimestamp: info.createdAt },
    size: info.size,
  };
}

function digestParam(req: Request): string {
  const digest = String(req.params.digest);
  if (!isContextDigest(digest)) throw new HoldfastError('BadRequest', `"${digest}" is not a build context digest (sha256: and 64 lowercase hex digits)`);
  return digest;
}

export function buildContextRouter(deps: BuildContextRoutesDeps): Router {
  const r = Router();

  r.get(BUILD_CONTEXT_PATH, async (req, res) => {
    const namespace = String(req.params.namespace);
    const digest = digestParam(req);
    const info = await deps.buildContexts.get(namespace, digest);
    if (!info) throw new HoldfastError('NotFound', `build context ${digest} not found in namespace ${namespace}`, { details: { kind: 'buildcontexts', name: digest } });
    res.json(buildContextObject(info));
  });

  r.put(
    BUILD_CONTEXT_PATH,
    (req, _res, next) => {
      // Checked before the body is read: a wrong type or a bad digest costs no upload.
      digestParam(req);
      if (!req.is(TAR_TYPE)) throw new HoldfastError('UnsupportedMediaType', `a build context is uploaded as ${TAR_TYPE}, not ${req.get('content-type') ?? 'a body without a type'}`);
      next();
    },
    express.raw({ type: TAR_TYPE, limit: BUILD_CONTEXT_MAX_BYTES }),
    async (req, res) => {
      const namespace = String(req.params.namespace);
      const digest = digestParam(req);
      await deps.store.mustGet('Project', undefined, namespace);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let stored: Awaited<ReturnType<BuildContextStore['put']>>;
      try {
        stored = await deps.buildContexts.put(namespace, digest, body);
      } catch (err) {
        if (err instanceof DigestMismatch) throw new HoldfastError('BadRequest', `the uploaded build context does not match its name: ${err.message}`);
        throw err;
      }
      if (stored.created) {
        const { actor, tokenId } = actorOf(req);
        await writeAudit(deps.store.db, { actor, tokenId, verb: 'upload', kind: 'BuildContext', namespace, name: digest, outcome: 'Success', message: `${body.length} bytes` }, new Date());
      }
      res.status(stored.created ? 201 : 200).json(buildContextObject(stored.info));
    },
  );

  return r;
}
