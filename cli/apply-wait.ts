// `holdfast apply --wait`: after the writes, wait for every Service that was created or configured
// until its controller observed the new generation and the deployment made for it ended.
import { setMaxListeners } from 'node:events';
import { kindInfo, type Resource } from '../core/resource.js';
import { ApiError, type HoldfastClient } from './client.js';
import { interruptedLines } from './rollout-printers.js';
import { succeeded, waitForRollout, type RolloutReader, type RolloutResult } from './rollout-wait.js';
import { rolloutReader } from './commands/rollout.js';

/**
 * Waits for all of them at once: `completed` when every rollout completed before the deadline;
 * `interrupted` (after printing how to follow or cancel each rollout that goes on) when `signal`
 * aborted first.
 */
export async function waitForAppliedServices(
  client: HoldfastClient,
  services: readonly Resource[],
  opts: { timeoutMs: number; print(line: string): void; printError(line: string): void; now: () => number; signal?: AbortSignal },
): Promise<'completed' | 'failed' | 'interrupted'> {
  if (services.length === 0) return 'completed';
  // Each wait listens on the one signal twice at a time (its read or its sleep, and the abort race):
  // past ten, Node would warn of a leak that is none.
  if (opts.signal) setMaxListeners(2 * services.length + 10, opts.signal);
  const deadline = opts.now() + opts.timeoutMs;
  // How many Services each project has waited for.
  const waited = new Map<string, number>();
  for (const s of services) {
    const namespace = s.metadata.namespace ?? '';
    waited.set(namespace, (waited.get(namespace) ?? 0) + 1);
  }
  const sharedIn = new Set([...waited].filter(([, n]) => n >= SHARED_LIST_MIN).map(([namespace]) => namespace));
  const serviceKind = kindInfo('Service')!;
  const reader = sharedServiceReads(rolloutReader(client), sharedIn, async (namespace) => (await client.listAll(serviceKind, { namespace })).items ?? []);
  // The project only when several are involved: names are unique within one.
  const labelOf = (s: Resource) => (waited.size > 1 ? `service/${s.metadata.name} (${s.metadata.namespace})` : `service/${s.metadata.name}`);
  const results: RolloutResult[] = await Promise.all(
    services.map((s) =>
      waitForRollout(reader, {
        namespace: s.metadata.namespace ?? '',
        name: s.metadata.name,
        label: labelOf(s),
        deadline,
        print: opts.print,
        now: opts.now,
        signal: opts.signal,
      }),
    ),
  );
  if (results.some((r) => r.outcome === 'interrupted')) {
    results.forEach((r, i) => {
      const s = services[i];
      if (r.outcome === 'interrupted') opts.printError(interruptedLines(labelOf(s), { namespace: s.metadata.namespace ?? '', name: s.metadata.name }, r.deploymentId));
    });
    return 'interrupted';
  }
  return results.every(succeeded) ? 'completed' : 'failed';
}

/** From this many Services of one project waited for, their waits share one list of the project's Services. */
const SHARED_LIST_MIN = 5;
/** How old a shared list may be when a wait asks for its Service (each wait asks once a second). */
const SHARED_LIST_MS = 500;

/**
 * `reader` with the Service reads of the waits in `namespaces` answered from one list of that
 * project's Services, made at most every SHARED_LIST_MS: fifty waits polling once a second sent
 * fifty GETs a second, each a token check and a store read on the server. A Service not in the list
 * answers 404, as its GET would.
 */
export function sharedServiceReads(
  reader: RolloutReader,
  namespaces: ReadonlySet<string>,
  listServices: (namespace: string) => Promise<Resource[]>,
  now: () => number = Date.now,
): RolloutReader {
  const lists = new Map<string, { at: number; byName: Promise<Map<string, Resource>> }>();
  return {
    ...reader,
    async service(namespace, name) {
      if (!namespaces.has(namespace)) return reader.service(namespace, name);
      let list = lists.get(namespace);
      if (!list || now() - list.at > SHARED_LIST_MS) {
        const byName = listServices(namespace).then((items) => new Map(items.map((s) => [s.metadata.name, s])));
        list = { at: now(), byName };
        lists.set(namespace, list);
        // A failed list is not kept: the next read asks again.
        byName.catch(() => lists.get(namespace)?.byName === byName && lists.delete(namespace));
      }
      const found = (await list.byName).get(name);
      if (!found) throw new ApiError(404, 'NotFound', `services "${name}" not found`, [], { kind: 'services', name });
      return found;
    },
  };
}
