// Errors are values with a kind and a place. The API maps them to Kubernetes Status objects in one
// place (api/status.ts); the CLI prints their message. None of them carries a stack to the user.

export interface FieldCause {
  /** JSON-pointer-like path of the offending field, e.g. `spec.ports[0].hostPort`; empty when the cause is no one field. */
  field: string;
  message: string;
  /** Kubernetes CauseType, e.g. FieldValueInvalid, FieldValueNotSupported, FieldValueRequired. */
  reason?: string;
}

export type ErrorReason =
  | 'BadRequest'
  | 'Invalid'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'Gone'
  | 'Timeout'
  | 'ServiceUnavailable'
  | 'InternalError';

const HTTP_CODE: Record<ErrorReason, number> = {
  BadRequest: 400,
  Invalid: 422,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Unauthorized: 401,
  Forbidden: 403,
  MethodNotAllowed: 405,
  UnsupportedMediaType: 415,
  RequestEntityTooLarge: 413,
  TooManyRequests: 429,
  Gone: 410,
  Timeout: 504,
  ServiceUnavailable: 503,
  InternalError: 500,
};

/** The object an error is about; `retryAfterSeconds` when trying again later may succeed. */
export interface ErrorDetails {
  kind?: string;
  name?: string;
  group?: string;
  retryAfterSeconds?: number;
}

/** An error meant for the user: its message is safe to show and names what and where. */
export class HoldfastError extends Error {
  readonly reason: ErrorReason;
  readonly causes: FieldCause[];
  readonly details?: ErrorDetails;

  constructor(
    reason: ErrorReason,
    message: string,
    opts: { causes?: FieldCause[]; details?: ErrorDetails } = {},
  ) {
    super(message);
    this.name = 'HoldfastError';
    this.reason = reason;
    this.causes = opts.causes ?? [];
    this.details = opts.details;
  }

  get code(): number {
    return HTTP_CODE[this.reason];
  }
}

export class ValidationError extends HoldfastError {
  constructor(message: string, causes: FieldCause[], details?: { kind?: string; name?: string }) {
    // Kubernetes answers schema violations with 422 Invalid; the issue asks for 400, which is what
    // Kubernetes uses for a body it cannot decode. We keep 400 for both so clients see one code.
    super('BadRequest', message, { causes, details });
    this.name = 'ValidationError';
  }
}

export const notFound = (kind: string, name: string) =>
  new HoldfastError('NotFound', `${kind.toLowerCase()}s.holdfast.dev "${name}" not found`, { details: { kind, name } });

export const alreadyExists = (kind: string, name: string) =>
  new HoldfastError('AlreadyExists', `${kind.toLowerCase()}s.holdfast.dev "${name}" already exists`, {
    details: { kind, name },
  });

export const conflict = (kind: string, name: string, why: string) =>
  new HoldfastError(
    'Conflict',
    `Operation cannot be fulfilled on ${kind.toLowerCase()}s.holdfast.dev "${name}": ${why}`,
    { details: { kind, name } },
  );
