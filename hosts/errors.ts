// Execution-plane errors: values with a kind (CamelCase, usable as a condition reason) and the server
// they concern. Messages name the server and its endpoint and never carry key material.
import { HoldfastError, type ErrorReason } from '../core/errors.js';

export type HostErrorKind =
  | 'HostKeyMismatch'
  | 'AuthenticationFailed'
  | 'ConnectionRefused'
  | 'ConnectTimeout'
  | 'HostUnreachable'
  | 'ConnectionLost'
  | 'SessionClosed'
  | 'OperationTimeout'
  | 'OperationAborted'
  | 'DockerUnavailable'
  | 'DockerApiError'
  | 'CommandFailed';

export abstract class HostError extends HoldfastError {
  abstract readonly kind: HostErrorKind;
  /** Name of the Server resource. */
  readonly server: string;

  constructor(server: string, reason: ErrorReason, message: string, options?: { cause?: unknown }) {
    super(reason, message);
    this.server = server;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }

  /** Transient errors are worth retrying with backoff; the others need a change of config or host. */
  get transient(): boolean {
    return true;
  }
}

export class HostKeyMismatch extends HostError {
  readonly kind = 'HostKeyMismatch' as const;
  constructor(
    server: string,
    readonly expected: string,
    readonly actual: string,
    endpoint: string,
  ) {
    super(
      server,
      'ServiceUnavailable',
      `server ${server} (${endpoint}): host key mismatch: pinned ${expected}, server presented ${actual}; ` +
        'refusing to authenticate',
    );
    this.name = 'HostKeyMismatch';
  }
  override get transient(): boolean {
    return false;
  }
}

export class AuthenticationFailed extends HostError {
  readonly kind = 'AuthenticationFailed' as const;
  constructor(
    server: string,
    readonly user: string,
    endpoint: string,
  ) {
    super(server, 'ServiceUnavailable', `server ${server} (${endpoint}): authentication failed for user "${user}" with the configured key`);
    this.name = 'AuthenticationFailed';
  }
  override get transient(): boolean {
    return false;
  }
}

export class ConnectionRefused extends HostError {
  readonly kind = 'ConnectionRefused' as const;
  constructor(server: string, endpoint: string, cause?: unknown) {
    super(server, 'ServiceUnavailable', `server ${server} (${endpoint}): connection refused`, { cause });
    this.name = 'ConnectionRefused';
  }
}

export class ConnectTimeout extends HostError {
  readonly kind = 'ConnectTimeout' as const;
  constructor(
    server: string,
    endpoint: string,
    readonly timeoutMs: number,
  ) {
    super(server, 'Timeout', `server ${server} (${endpoint}): no SSH handshake within ${timeoutMs} ms`);
    this.name = 'ConnectTimeout';
  }
}

export class HostUnreachable extends HostError {
  readonly kind = 'HostUnreachable' as const;
  constructor(server: string, endpoint: string, detail: string, cause?: unknown) {
    super(server, 'ServiceUnavailable', `server ${server} (${endpoint}): unreachable: ${detail}`, { cause });
    this.name = 'HostUnreachable';
  }
}

export class ConnectionLost extends HostError {
  readonly kind = 'ConnectionLost' as const;
  constructor(server: string, endpoint: string, detail: string, cause?: unknown) {
    super(server, 'ServiceUnavailable', `server ${server} (${endpoint}): connection lost: ${detail}`, { cause });
    this.name = 'ConnectionLost';
  }
}

export class SessionClosed extends HostError {
  readonly kind = 'SessionClosed' as const;
  constructor(server: string) {
    super(server, 'ServiceUnavailable', `server ${server}: session closed`);
    this.name = 'SessionClosed';
  }
  override get transient(): boolean {
    return false;
  }
}

export class OperationTimeout extends HostError {
  readonly kind = 'OperationTimeout' as const;
  constructor(
    server: string,
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(server, 'Timeout', `server ${server}: ${operation} did not finish within ${timeoutMs} ms`);
    this.name = 'OperationTimeout';
  }
}

export class OperationAborted extends HostError {
  readonly kind = 'OperationAborted' as const;
  constructor(
    server: string,
    readonly operation: string,
  ) {
    super(server, 'ServiceUnavailable', `server ${server}: ${operation} was canceled`);
    this.name = 'OperationAborted';
  }
  override get transient(): boolean {
    return false;
  }
}

export class DockerUnavailable extends HostError {
  readonly kind = 'DockerUnavailable' as const;
  constructor(server: string, detail: string, cause?: unknown) {
    super(server, 'ServiceUnavailable', `server ${server}: Docker Engine not reachable: ${detail}`, { cause });
    this.name = 'DockerUnavailable';
  }
}

export class DockerApiError extends HostError {
  readonly kind = 'DockerApiError' as const;
  constructor(
    server: string,
    /** HTTP status from the Engine API; 0 for errors reported inside a progress stream. */
    readonly statusCode: number,
    /** `METHOD /path` without query (queries may carry user values). */
    readonly request: string,
    readonly dockerMessage: string,
  ) {
    super(server, reasonForStatus(statusCode), `server ${server}: Docker ${request} failed (${statusCode || 'stream'}): ${dockerMessage}`);
    this.name = 'DockerApiError';
  }
  override get transient(): boolean {
    return this.statusCode >= 500 || this.statusCode === 0;
  }
}

export class CommandFailed extends HostError {
  readonly kind = 'CommandFailed' as const;
  constructor(
    server: string,
    /** The program name only: arguments may carry values that do not belong in logs. */
    readonly program: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(
      server,
      'InternalError',
      `server ${server}: ${program} exited with ${exitCode === null ? 'no status' : `status ${exitCode}`}` +
        (stderrTail ? `: ${stderrTail}` : ''),
    );
    this.name = 'CommandFailed';
  }
}

function reasonForStatus(status: number): ErrorReason {
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 400) return 'BadRequest';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  return status >= 500 || status === 0 ? 'ServiceUnavailable' : 'BadRequest';
}

export function isHostError(err: unknown): err is HostError {
  return err instanceof HostError;
}

export function isDockerNotFound(err: unknown): boolean {
  return err instanceof DockerApiError && err.statusCode === 404;
}

/** For `.catch()` of a removal: what is already gone is done; any other error goes on. */
export function ignoreDockerNotFound(err: unknown): void {
  if (!isDockerNotFound(err)) throw err;
}
