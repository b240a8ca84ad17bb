// Where a BackupPolicy's backups are copied to: spec.destinations, or the single spec.destination
// (one destination named "default"). Each destination is a directory on a server or an
// S3-compatible bucket, with its own retention (the policy's when it names none).
import type { FieldCause } from '../errors.js';
import type { BackupPolicyDestinationsItemS3, BackupPolicySpec } from '../schema/types.generated.js';
import type { RetentionRules } from './retention.js';

/** The name spec.destination's copies are reported under. */
export const SINGLE_DESTINATION = 'default';

interface DestinationBase {
  name: string;
  retention: RetentionRules;
  /** The spec field that declares it, for messages: spec.destinations[1]. */
  field: string;
}

export interface DirectoryDestination extends DestinationBase {
  kind: 'directory';
  /** The Service's own server when undefined. */
  server?: string;
  path: string;
}

export interface S3Destination extends DestinationBase {
  kind: 's3';
  s3: BackupPolicyDestinationsItemS3;
}

export type BackupDestination = DirectoryDestination | S3Destination;

type DestinationsSpec = Pick<BackupPolicySpec, 'destination' | 'destinations' | 'retention'>;

/** The policy's destinations, in the order it declares them. */
export function policyDestinations(spec: DestinationsSpec): BackupDestination[] {
  const retention = spec.retention ?? {};
  if (!spec.destinations?.length) {
    const single = spec.destination!;
    return [{ name: SINGLE_DESTINATION, kind: 'directory', server: single.server, path: single.path, retention, field: 'spec.destination' }];
  }
  return spec.destinations.map((d, i) => {
    const base = { name: d.name, retention: d.retention ?? retention, field: `spec.destinations[${i}]` };
    return d.s3 ? { ...base, kind: 's3', s3: d.s3 } : { ...base, kind: 'directory', server: d.server, path: d.path! };
  });
}

/** What the schema cannot say about spec.destinations: a bucket has no server. */
export function destinationProblems(spec: DestinationsSpec): FieldCause[] {
  return (spec.destinations ?? []).flatMap((d, i) =>
    d.s3 && d.server ? [{ field: `spec.destinations[${i}].server`, message: 'server applies to a directory (path), not to an s3 bucket: remove one of them', reason: 'FieldValueInvalid' }] : [],
  );
}

/** The object key of backup `name` under the destination's prefix. */
export function s3Key(prefix: string | undefined, name: string): string {
  if (!prefix) return name;
  return prefix.endsWith('/') ? `${prefix}${name}` : `${prefix}/${name}`;
}

/** The key prefix a listing of the destination's backups asks for. */
export function s3ListPrefix(prefix: string | undefined): string {
  return s3Key(prefix, '');
}
