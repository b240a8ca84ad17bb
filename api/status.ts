// The one place errors become HTTP responses: Kubernetes `Status` objects. A user's mistake gets
// its reason and message; anything unexpected is logged and answered with a generic 500 that carries
// no stack and no internal detail.
import type { NextFunction, Request, Response } from 'express';
import { HoldfastError, type FieldCause } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; kind?: string; group?: string; causes?: Array<Partial<FieldCause>>; retryAfterSeconds?: number };
}

export function statusFor(err: HoldfastError): Status {
  const details =
    err.details || err.causes.length
      ? {
          ...(err.details?.name ? { name: err.details.name } : {}),
          ...(err.details?.kind ? { kind: err.details.kind, group: err.details.group ?? 'holdfast.dev' } : {}),
          // An empty field is left out, as Kubernetes omits it.
          ...(err.causes.length ? { causes: err.causes.map(({ field, ...rest }) => (field ? { field, ...rest } : rest)) } : {}),
          ...(err.details?.retryAfterSeconds ? { retryAfterSeconds: err.details.retryAfterSeconds } : {}),
        }
      : undefined;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    code: err.code,
    ...(details ? { details } : {}),
  };
}

export function successStatus(message: string, details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message, reason: '', code: 200, ...(details ? { details } : {}) };
}

/** Errors raised by express' body parser, mapped to what the user did wrong. */
function fromBodyParser(err: { type?: string; status?: number; limit?: number; message?: string }): HoldfastError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new HoldfastError('RequestEntityTooLarge', `request body too large: the limit is ${err.limit} bytes`);
    case 'entity.parse.failed':
      return new HoldfastError('BadRequest', `the request body is not valid JSON: ${err.message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HoldfastError('UnsupportedMediaType', err.message ?? 'unsupported encoding');
    default:
      // Anything else the body reader refuses (a Content-Encoding the body does not have, an
      // aborted upload) is an http-errors 4xx: the client's mistake, told as such.
      if (err.status !== undefined && err.status >= 400 && err.status < 500) {
        return new HoldfastError(err.status === 415 ? 'UnsupportedMediaType' : 'BadRequest', `the request body could not be read: ${err.message ?? 'malformed'}`);
      }
      return undefined;
  }
}

export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known =
      err instanceof HoldfastError ? err : fromBodyParser(err as Record<string, never>) ?? undefined;
    if (known) {
      if (known.details?.retryAfterSeconds) res.setHeader('Retry-After', String(known.details.retryAfterSeconds));
      res.status(known.code).json(statusFor(known));
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    const internal = new HoldfastError('InternalError', 'an internal error occurred; the server log has the details');
    if (!res.headersSent) res.status(500).json(statusFor(internal));
    else res.end();
  };
}
