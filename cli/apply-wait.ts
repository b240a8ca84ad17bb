// `holdfast apply --wait`: after the writes, wait for every Service that was created or configured
// until its controller observed the new generation and the deployment made for it ended.
import type { Resource } from '../core/resource.js';
import type { HoldfastClient } from './client.js';
import { interruptedLines } from './rollout-printers.js';
import { succeeded, waitForRollout, type RolloutResult } from './rollout-wait.js';
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
  const namespaces = new Set(services.map((s) => s.metadata.namespace));
  const deadline = opts.now() + opts.timeoutMs;
  const reader = rolloutReader(client);
  // The project only when several are involved: names are unique within one.
  const labelOf = (s: Resource) => (namespaces.size > 1 ? `service/${s.metadata.name} (${s.metadata.namespace})` : `service/${s.metadata.name}`);
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
