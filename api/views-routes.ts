// A Service's three views and its drift over HTTP. Guarded by service:read in the route table
// (api/scopes.ts); secrets appear only as hashes (and every body passes the redactor).
//   GET …/namespaces/{ns}/services/{name}/views          {declared, frozen, live, drift: [...]}
//   GET …/namespaces/{ns}/services/{name}/drift/history  the Service's drift records, newest first
//   GET …/drift[?namespace=ns]                           drifted Services across projects
import { Router } from 'express';
import type { ServiceViewsSource } from '../controllers/drift/drift-controller.js';
import { countDrift } from '../core/drift/types.js';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import type { ServiceStatus } from '../core/schema/types.generated.js';
import type { DriftRecord, DriftStore } from '../store/drift.js';
import type { ResourceStore } from '../store/resource-store.js';
import { requireScope } from './auth.js';
import { pageLimit, queryString } from './list-paging.js';
import { API_BASE } from './scopes.js';

export const SERVICE_VIEWS_PATH = `${API_BASE}/namespaces/:namespace/services/:name/views`;
export const SERVICE_DRIFT_HISTORY_PATH = `${API_BASE}/namespaces/:namespace/services/:name/drift/history`;
export const DRIFT_PATH = `${API_BASE}/drift`;

const DEFAULT_HISTORY = 100;

export interface ViewsRoutesDeps {
  store: ResourceStore;
  drift: DriftStore;
  /** The drift controller; without one (no controllers in this process) the views answer 503. */
  views?: ServiceViewsSource;
}

/** A drift record as the API shows it. */
function recordView(r: DriftRecord) {
  return {
    path: r.path,
    kind: r.kind,
    ...(r.expected !== undefined ? { expected: r.expected } : {}),
    ...(r.actual !== undefined ? { actual: r.actual } : {}),
    source: r.source,
    firstSeen: r.firstSeen,
    lastSeen: r.lastSeen,
    ...(r.resolvedAt ? { resolvedAt: r.resolvedAt } : {}),
    ...(r.resolution ? { resolution: r.resolution } : {}),
    ...(r.healedBy ? { healedBy: r.healedBy } : {}),
  };
}

export function viewsRouter(deps: ViewsRoutesDeps): Router {
  const r = Router();
  const { store, drift } = deps;

  r.get(SERVICE_VIEWS_PATH, async (req, res) => {
    requireScope(req, ['service:read'], 'get services/views');
    const service = await store.mustGet('Service', String(req.params.namespace), String(req.params.name));
    if (!deps.views) throw new HoldfastError('ServiceUnavailable', 'the views of services need the controllers, which do not run in this process');
    res.json(await deps.views.views(service, AbortSignal.timeout(30_000)));
  });

  r.get(SERVICE_DRIFT_HISTORY_PATH, async (req, res) => {
    requireScope(req, ['service:read'], 'get services/drift/history');
    const service = await store.mustGet('Service', String(req.params.namespace), String(req.params.name));
    const records = await drift.history(service.metadata.uid!, pageLimit(req.query.limit, DEFAULT_HISTORY));
    res.json({ apiVersion: API_VERSION, kind: 'DriftHistory', metadata: { namespace: service.metadata.namespace, name: service.metadata.name }, items: records.map(recordView) });
  });

  r.get(DRIFT_PATH, async (req, res) => {
    requireScope(req, ['service:read'], 'list drift');
    const namespace = queryString(req.query.namespace);
    const open = await drift.openAll(namespace);
    const byService = new Map<string, DriftRecord[]>();
    for (const record of open) byService.set(record.serviceUid, [...(byService.get(record.serviceUid) ?? []), record]);
    const items = [];
    for (const records of byService.values()) {
      const { namespace: ns, service: name, serviceUid } = records[0];
      const service = await store.get('Service', ns, name);
      if (!service || service.metadata.uid !== serviceUid) continue;
      const status = (service.status ?? {}) as ServiceStatus;
      const policy = (service.spec as { driftPolicy?: { mode?: string } } | undefined)?.driftPolicy?.mode ?? 'report';
      const condition = status.conditions?.find((c) => c.type === 'Drifted');
      items.push({
        namespace: ns,
        name,
        ...countDrift(records),
        policy,
        ...(status.drift?.lastCheckedTime ? { lastCheckedTime: status.drift.lastCheckedTime } : {}),
        ...(condition ? { reason: condition.reason, message: condition.message } : {}),
        drift: records.map(recordView),
      });
    }
    res.json({ apiVersion: API_VERSION, kind: 'DriftedServiceList', metadata: {}, items });
  });

  return r;
}
