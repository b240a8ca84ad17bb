// Access reviews, as Kubernetes' authorization.k8s.io: "may this subject do VERB on RESOURCE in
// PROJECT?" answered by the same decision the guard makes (api/auth.ts decideAccess).
//   POST /apis/holdfast.dev/v1alpha1/selfsubjectaccessreviews  {"spec": {"resourceAttributes": {"verb": "deploy", "resource": "services", "namespace": "shop"}}}
//   POST /apis/holdfast.dev/v1alpha1/subjectaccessreviews      {"spec": {"user": "user:alice", "resourceAttributes": {…}}}
import { Router, type Request } from 'express';
import { RBAC_RESOURCES, formatSubject, normaliseVerb, parseSubject, scopesFor, VERBS } from '../core/authz/rbac.js';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION, lookupKind } from '../core/resource.js';
import type { Authorizer } from '../security/authorizer.js';
import type { TokenIdentity } from '../security/tokens.js';
import { decideAccess } from './auth.js';
import { API_BASE } from './scopes.js';

interface ResourceAttributes {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export function accessReviewRouter(authorizer: Authorizer): Router {
  const r = Router();

  r.post(`${API_BASE}/selfsubjectaccessreviews`, async (req, res) => {
    const attributes = parseAttributes(req);
    res.status(201).json(await review('SelfSubjectAccessReview', req.identity!, attributes, authorizer));
  });

  r.post(`${API_BASE}/subjectaccessreviews`, async (req, res) => {
    const attributes = parseAttributes(req);
    const user = (req.body as { spec?: { user?: unknown } }).spec?.user;
    const subject = typeof user === 'string' ? parseSubject(user.includes(':') ? user : `user:${user}`) : undefined;
    if (!subject) {
      throw new HoldfastError('BadRequest', 'spec.user must name a subject: user:NAME (or NAME) or serviceaccount:PROJECT:NAME', {
        causes: [{ field: 'spec.user', message: 'not a subject', reason: 'FieldValueInvalid' }],
      });
    }
    // Asked as the subject itself would ask, with a token of its own that is not narrowed.
    const as: TokenIdentity = { id: '', name: '', scopes: ['*'], subject: formatSubject(subject) };
    res.status(201).json(await review('SubjectAccessReview', as, attributes, authorizer, formatSubject(subject)));
  });

  return r;
}

async function review(kind: string, identity: TokenIdentity, a: ResourceAttributes, authorizer: Authorizer, user?: string) {
  const verb = normaliseVerb(a.verb)!;
  const decision = await decideAccess(
    identity,
    { anyOf: scopesFor(verb, a.resource), resource: a.resource, ...(a.namespace ? { namespace: a.namespace } : {}), ...(a.name ? { name: a.name } : {}) },
    authorizer,
  );
  return {
    apiVersion: API_VERSION,
    kind,
    spec: { ...(user ? { user } : {}), resourceAttributes: { ...a, verb } },
    status: { allowed: decision.allowed, ...(decision.allowed ? {} : { denied: true }), reason: decision.reason },
  };
}

function parseAttributes(req: Request): ResourceAttributes {
  const body = req.body as { spec?: { resourceAttributes?: Record<string, unknown> } } | undefined;
  const a = body && typeof body === 'object' ? body.spec?.resourceAttributes : undefined;
  if (!a || typeof a !== 'object') {
    throw new HoldfastError('BadRequest', 'spec.resourceAttributes is required: {"verb": "deploy", "resource": "services", "namespace": "shop"}', {
      causes: [{ field: 'spec.resourceAttributes', message: 'Required value', reason: 'FieldValueRequired' }],
    });
  }
  const causes = [];
  const verb = typeof a.verb === 'string' ? normaliseVerb(a.verb) : undefined;
  if (!verb) causes.push({ field: 'spec.resourceAttributes.verb', message: `must be one of ${VERBS.join(', ')} (or get, list, watch, create, update, patch, delete)`, reason: 'FieldValueNotSupported' });
  const resource = typeof a.resource === 'string' ? (lookupKind(a.resource)?.plural ?? a.resource.toLowerCase()) : '';
  if (!RBAC_RESOURCES.includes(resource)) causes.push({ field: 'spec.resourceAttributes.resource', message: `must be one of ${RBAC_RESOURCES.join(', ')}`, reason: 'FieldValueNotSupported' });
  for (const field of ['namespace', 'name'] as const) {
    if (a[field] !== undefined && typeof a[field] !== 'string') causes.push({ field: `spec.resourceAttributes.${field}`, message: 'must be a string', reason: 'FieldValueInvalid' });
  }
  if (causes.length) throw new HoldfastError('Invalid', `invalid access review: ${causes.map((c) => `${c.field} ${c.message}`).join('; ')}`, { causes });
  return {
    verb: a.verb as string,
    resource,
    ...(a.namespace ? { namespace: a.namespace as string } : {}),
    ...(a.name ? { name: a.name as string } : {}),
  };
}
