// Periodic store upkeep: expire old Events, compact the watch change log.
import type { Logger } from '../observability/logger.js';
import type { ResourceStore } from '../store/resource-store.js';

const CHANGE_LOG_RETENTION_MS = 15 * 60_000;
const INTERVAL_MS = 60_000;

export function startHousekeeping(store: ResourceStore, opts: { eventTtlSeconds: number; log: Logger }): () => void {
  const run = async () => {
    try {
      const now = Date.now();
      await expireEvents(store, new Date(now - opts.eventTtlSeconds * 1000));
      await store.pruneChanges(new Date(now - CHANGE_LOG_RETENTION_MS));
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
