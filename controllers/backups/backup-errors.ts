// Why a backup or restore could not be done: a user-facing error with the condition reason the
// policy's status shows, and the HTTP reason the API answers with.
import { HoldfastError, type ErrorReason } from '../../core/errors.js';

export type BackupFailureReason =
  | 'ServiceNotFound'
  | 'ServiceNotDeployed'
  | 'VolumeNotFound'
  | 'VolumeNotMounted'
  | 'ContainerNotRunning'
  | 'ServerUnavailable'
  | 'DestinationUnwritable'
  | 'DiskFull'
  | 'VerificationFailed'
  | 'BackupNotFound'
  | 'ChecksumMismatch'
  | 'BackupFailed'
  | 'RestoreFailed'
  | 'InvalidEncryptionKey'
  | 'EncryptionKeyNotFound'
  | 'DecryptionFailed'
  | 'ConsistencyFailed'
  | 'ComponentRequired'
  | 'ComponentNotFound'
  | 'CredentialsNotFound'
  | 'Busy';

const HTTP_REASON: Record<BackupFailureReason, ErrorReason> = {
  ServiceNotFound: 'Conflict',
  ServiceNotDeployed: 'Conflict',
  VolumeNotFound: 'Conflict',
  VolumeNotMounted: 'Conflict',
  ContainerNotRunning: 'Conflict',
  ServerUnavailable: 'ServiceUnavailable',
  DestinationUnwritable: 'ServiceUnavailable',
  DiskFull: 'ServiceUnavailable',
  VerificationFailed: 'ServiceUnavailable',
  BackupNotFound: 'NotFound',
  ChecksumMismatch: 'Conflict',
  BackupFailed: 'ServiceUnavailable',
  RestoreFailed: 'ServiceUnavailable',
  InvalidEncryptionKey: 'Conflict',
  EncryptionKeyNotFound: 'Conflict',
  DecryptionFailed: 'Conflict',
  ConsistencyFailed: 'ServiceUnavailable',
  ComponentRequired: 'Conflict',
  ComponentNotFound: 'Conflict',
  CredentialsNotFound: 'Conflict',
  Busy: 'Conflict',
};

export class BackupFailure extends HoldfastError {
  constructor(
    readonly condition: BackupFailureReason,
    message: string,
  ) {
    super(HTTP_REASON[condition], message);
  }
}

/** Any error as a BackupFailure: host errors keep their (safe) message and become ServerUnavailable or `fallback`. */
export function asBackupFailure(err: unknown, fallback: BackupFailureReason): BackupFailure {
  if (err instanceof BackupFailure) return err;
  if (err instanceof HoldfastError) {
    const kind = (err as { kind?: string }).kind;
    const unreachable = kind !== undefined && kind !== 'CommandFailed' && kind !== 'DockerApiError';
    return new BackupFailure(unreachable ? 'ServerUnavailable' : fallback, err.message);
  }
  return new BackupFailure(fallback, `unexpected error: ${(err as Error)?.message ?? String(err)}`);
}
