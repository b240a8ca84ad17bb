// Leader election over a Lease, pure: given the lease as a replica last read it, what that replica
// does next. As in client-go, a lease expires by the reader's own clock (when it first saw the
// current renewal, plus the lease's duration), never by comparing the holder's timestamps with the
// reader's clock, so replicas need no synchronised clocks to agree on who may take over.
import type { LeaseSpec } from '../schema/types.generated.js';

export type LeaseStep =
  /** No lease yet: create it, held by this replica. */
  | { action: 'create'; spec: LeaseSpec }
  /** This replica holds it: renew it. */
  | { action: 'renew'; spec: LeaseSpec }
  /** Released, or not renewed in time by its holder: take it over. */
  | { action: 'acquire'; spec: LeaseSpec }
  /** Another replica holds it until `expiresAt` (by this replica's clock). */
  | { action: 'wait'; holder: string; expiresAt: Date };

export interface ObservedLease {
  spec: LeaseSpec;
  /** When this replica first read this version of the lease. */
  observedAt: Date;
}

/** When an observed lease may be taken over, by the observer's clock. */
export function leaseExpiry(lease: ObservedLease, fallbackDurationSeconds: number): Date {
  return new Date(lease.observedAt.getTime() + (lease.spec.leaseDurationSeconds ?? fallbackDurationSeconds) * 1000);
}

export function nextLeaseStep(current: ObservedLease | undefined, identity: string, now: Date, durationSeconds: number): LeaseStep {
  const at = now.toISOString();
  if (!current) {
    return { action: 'create', spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at, leaseTransitions: 0 } };
  }
  const { spec } = current;
  if (spec.holderIdentity === identity) {
    // Still ours even if late: the write's compare-and-swap fails if another replica took it meanwhile.
    return { action: 'renew', spec: { ...spec, leaseDurationSeconds: durationSeconds, renewTime: at } };
  }
  const expiresAt = leaseExpiry(current, durationSeconds);
  if (spec.holderIdentity && now < expiresAt) return { action: 'wait', holder: spec.holderIdentity, expiresAt };
  return {
    action: 'acquire',
    spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 },
  };
}

/** The lease handed back by its holder (others may take it at once), or undefined when `identity` does not hold it. */
export function releasedLease(spec: LeaseSpec, identity: string, now: Date): LeaseSpec | undefined {
  if (spec.holderIdentity !== identity) return undefined;
  const { holderIdentity: _released, ...rest } = spec;
  return { ...rest, renewTime: now.toISOString() };
}
