// The audit log over HTTP, oldest first, paged:
//   GET /apis/holdfast.dev/v1alpha1/auditlog[?since=1h|RFC3339][&limit=][&continue=][&actor=&verb=&kind=&namespace=&name=]
// Guarded by audit:read in the route table.
import { Router } from 'express';
import { API_VERSION } from '../core/resource.js';
import { readAudit } from '../security/audit-log.js';
import { parseSince } from '../core/duration.js';
import type { Db } from '../store/database.js';
import { pageLimit, queryString } from './list-paging.js';
import { API_BASE } from './scopes.js';

const DEFAULT_PAGE = 200;

export function auditRouter(db: Db, clock: () => Date = () => new Date()): Router {
  const r = Router();
  r.get(`${API_BASE}/auditlog`, async (req, res) => {
    const since = queryString(req.query.since);
    const page = await readAudit(db, {
      since: since ? parseSince(since, clock()) : undefined,
      limit: pageLimit(req.query.limit, DEFAULT_PAGE),
      continue: queryString(req.query.continue),
      actor: queryString(req.query.actor),
      verb: queryString(req.query.verb),
      kind: queryString(req.query.kind),
      namespace: queryString(req.query.namespace),
      name: queryString(req.query.name),
    });
    res.json({
      apiVersion: API_VERSION,
      kind: 'AuditEventList',
      metadata: page.continue ? { continue: page.continue } : {},
      items: page.items,
    });
  });
  return r;
}
