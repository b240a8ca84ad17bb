// Fencing for sharded work. The replica that holds a shard's Lease runs its controllers' work inside
// withFencingToken (the lease's holder and transition count at the time); every store write made
// within it, however deep and however late, first checks that token against the lease as it is now,
// under the same lock that orders all writes, so a replica paused past its lease (a GC pause,
// SIGSTOP, a partition) cannot overwrite what the new holder wrote: its late writes are refused.
import { AsyncLocalStorage } from 'node:async_hooks';
import { and, eq, sql } from 'drizzle-orm';
import { HoldfastError } from '../core/errors.js';
import type { LeaseSpec } from '../core/schema/types.generated.js';
import type { Db } from './database.js';
import { resources } from './schema.js';

export interface FencingToken {
  lease: string;
  holder: string;
  transitions: number;
}

/** A write refused because the lease it was made under has moved on. */
export class FencedWrite extends HoldfastError {
  constructor(token: FencingToken, current: LeaseSpec | undefined) {
    super(
      'Conflict',
      `write refused: it was made under lease ${token.lease} held by ${token.holder} (transitions ${token.transitions}), which is now ${current?.holderIdentity ? `held by ${current.holderIdentity} (transitions ${current.leaseTransitions ?? 0})` : 'not held by it'}`,
    );
    this.name = 'FencedWrite';
  }
}

/** pg_advisory_xact_lock key that orders writes: resourceVersion order is commit order. */
export const WRITE_ORDER_LOCK = 0x686f6c64;

const current = new AsyncLocalStorage<FencingToken>();

/** Runs `fn` so that every store write it makes (also later, from work it started) carries `token`. */
export function withFencingToken<T>(token: FencingToken, fn: () => T): T {
  return current.run(token, fn);
}

/** The token the work running now carries, if it runs under a lease. */
export function currentFencingToken(): FencingToken | undefined {
  return current.getStore();
}

/** Inside a write's transaction: refuses it when it carries a token the lease no longer has. */
export async function checkFencingToken(tx: Db): Promise<void> {
  const token = current.getStore();
  if (!token) return;
  // Lease writes take this lock too, so the lease cannot change between this check and the commit.
  await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_ORDER_LOCK})`);
  const [row] = await tx
    .select({ spec: resources.spec })
    .from(resources)
    .where(and(eq(resources.kind, 'Lease'), eq(resources.namespace, ''), eq(resources.name, token.lease)));
  const spec = row?.spec as LeaseSpec | undefined;
  if (spec?.holderIdentity !== token.holder || (spec.leaseTransitions ?? 0) !== token.transitions) throw new FencedWrite(token, spec);
}
