// What a request body must be before any route reads it: JSON (the parser in app.ts decodes it),
// nested no deeper than the limit, and free of NUL characters, which the store cannot hold.
import type { NextFunction, Request, Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import { unstorableField } from '../core/input-limits.js';
import { YAMLException } from 'js-yaml';
import { loadBoundedYaml } from '../core/bounded-yaml.js';

/** What express.json decodes (app.ts): JSON and its structured variants, e.g. merge-patch+json. */
export const JSON_BODY_TYPES = ['application/json', 'application/*+json'];
/** A server-side apply patch (kubectl apply --server-side): YAML, which JSON is a part of. */
export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';
/** Bodies that are not JSON and the routes that read them (build context uploads). */
const RAW_BODY_TYPES = ['application/x-tar'];

export function checkRequestBody(req: Request, _res: Response, next: NextFunction) {
  if (!hasBody(req)) return next();
  const type = req.get('content-type');
  if (req.method === 'PATCH' && req.is(APPLY_PATCH_TYPE)) req.body = parseApplyPatch(req.body);
  else if (!type || !req.is(JSON_BODY_TYPES)) {
    if (type && req.is(RAW_BODY_TYPES)) return next();
    const accepted = req.method === 'PATCH' ? `application/merge-patch+json, application/json-patch+json or ${APPLY_PATCH_TYPE}` : 'application/json';
    throw new HoldfastError('UnsupportedMediaType', `unsupported media type ${JSON.stringify(type ?? '(none)')}: send the body as ${accepted}`);
  }
  const problem = unstorableField(req.body);
  if (problem) {
    const where = problem.field === '' ? 'the request body' : problem.field;
    throw new HoldfastError('BadRequest', `${where}: ${problem.message}`, { causes: [{ field: problem.field, message: problem.message, reason: 'FieldValueInvalid' }] });
  }
  next();
}

/**
 * A read whose URL holds a NUL anywhere (a path segment, a query value) is refused before any route or
 * store sees it: PostgreSQL cannot hold one, and no name, selector or parameter has a use for it.
 * Writes go on to their routes, which refuse the same names and keep an audit row of the refusal.
 */
export function checkRequestUrl(req: Request, _res: Response, next: NextFunction) {
  if ((req.method === 'GET' || req.method === 'HEAD') && /%00|\u0000/i.test(req.originalUrl)) throw new HoldfastError('BadRequest', 'the request URL must not contain a NUL character (%00)');
  next();
}

/** The text of an apply patch (app.ts reads it as text) as the object it declares. */
function parseApplyPatch(text: unknown): unknown {
  if (typeof text !== 'string') throw new HoldfastError('BadRequest', 'an apply patch must be a YAML or JSON document');
  try {
    return loadBoundedYaml(text, { filename: 'the apply patch' });
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    throw new HoldfastError('BadRequest', `the apply patch is not valid YAML: ${err.message.split('\n')[0]}`);
  }
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
