// Lists outside the resource kinds (tokens, audit log) page with `limit` and `continue` like
// Kubernetes lists; this follows the pages until the end or until `max` items.
import type { HoldfastClient } from './client.js';

interface Page<T> {
  metadata?: { continue?: string };
  items?: T[];
}

export async function getAllPages<T>(
  client: HoldfastClient,
  path: string,
  query: Record<string, string | number | undefined> = {},
  max = Infinity,
): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const pageSize = Math.min(500, max - items.length);
    const page = (await client.request({ method: 'GET', path, query: { ...query, limit: pageSize, continue: next } })) as Page<T>;
    items.push(...(page.items ?? []));
    next = page.metadata?.continue;
  } while (next && items.length < max);
  return items.slice(0, max);
}
