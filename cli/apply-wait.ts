// `holdfast apply --wait`: after the writes, wait for every Service that was created or configured
// until its controller observed the new generation and the deployment made for it ended.
import type { Resource } from '../core/resource.js';
import type { HoldfastClient } from './client.js';
import { succeeded, waitForRollout, type RolloutResult } from './rollout-wait.js';
import { rolloutReader } from './commands/rollout.js';

/** Waits for all of them at once; true when every rollout completed before the deadline. */
export async function waitForAppliedServices(
  client: HoldfastClient,
  services: readonly Resource[],
  opts: { timeoutMs: number; print(line: string): void; now: () => number },
): Promise<boolean> {
  if (services.length === 0) return true;
  const namespaces = new Set(services.map((s) => s.metadata.namespace));
  const deadline = opts.now() + opts.timeoutMs;
  const reader = rolloutReader(client);
  const results: RolloutResult[] = await Promise.all(
    services.map((s) =>
      waitForRollout(reader, {
        namespace: s.metadata.namespace ?? '',
        name: s.metadata.name,
        // The project only when several are involved: names are unique within one.
        label: namespaces.size > 1 ? `service/${s.metadata.name} (${s.metadata.namespace})` : `service/${s.metadata.name}`,
        deadline,
        print: opts.print,
        now: opts.now,
      }),
    ),
  );
  return results.every(succeeded);
}
