// Periodic store upkeep: expire old Events, compact the watch change log, remove build context tars
// nothing names any more.
import type { Logger } from '../observability/logger.js';
import type { BuildContextStore } from '../store/build-contexts.js';
import type { ResourceStore } from '../store/resource-store.js';

const CHANGE_LOG_RETENTION_MS = 15 * 60_000;
const INTERVAL_MS = 60_000;
/** An upload precedes the write of the Service that names it; a day covers any apply in between. */
const BUILD_CONTEXT_GRACE_MS = 24 * 60 * 60_000;

export function startHousekeeping(
  store: ResourceStore,
  opts: { eventTtlSeconds: number; log: Logger; buildContexts?: BuildContextStore; /** Runs only while this holds (the replica holds the housekeeping Lease). */ when?: () => boolean },
): () => void {
  const run = async () => {
    if (opts.when && !opts.when()) return;
    try {
      const now = Date.now();
      await expireEvents(store, new Date(now - opts.eventTtlSeconds * 1000));
      await store.pruneChanges(new Date(now - CHANGE_LOG_RETENTION_MS));
      if (opts.buildContexts) {
        const removed = await pruneBuildContexts(store, opts.buildContexts, new Date(now - BUILD_CONTEXT_GRACE_MS));
        if (removed.length) opts.log.info({ removed }, 'removed build contexts no Service or deployment names');
      }
    } catch (err) {
      opts.log.warn({ err }, 'housekeeping failed; will retry');
    }
  };
  const timer = setInterval(run, INTERVAL_MS);
  timer.unref();
  void run();
  return () => clearInterval(timer);
}

export async function expireEvents(store: ResourceStore, before: Date): Promise<number> {
  const { items } = await store.list('Event');
  let removed = 0;
  for (const ev of items) {
    const last = Date.parse(String(ev.lastTimestamp ?? ev.metadata.creationTimestamp));
    if (last < before.getTime()) {
      await store.delete('Event', ev.metadata.namespace, ev.metadata.name, { actor: 'system:housekeeping', skipAudit: true }).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}

/**
 * Removes build context tars unused since `unusedSince` that no Service spec and no deployment
 * record names (a rollback may rebuild from one an old deployment names).
 */
export async function pruneBuildContexts(store: ResourceStore, contexts: BuildContextStore, unusedSince: Date) {
  let named: Set<string> | undefined;
  return contexts.prune(unusedSince, async (namespace, digest) => {
    if (!named) {
      named = new Set();
      for (const s of (await store.list('Service')).items) {
        const digests = (s.spec as { source?: { compose?: { buildContexts?: Record<string, string> } } } | undefined)?.source?.compose?.buildContexts ?? {};
        for (const d of Object.values(digests)) named.add(`${s.metadata.namespace}\0${d}`);
      }
    }
    return named.has(`${namespace}\0${digest}`) || contexts.deploymentsReference(namespace, digest);
  });
}
