// `holdfast reconcile gitrepository/NAME -n PROJECT`: sync a GitRepository now (as `flux reconcile`
// does): set the request annotation, wait until the controller answers it, print what the sync did.
import { HoldfastError } from '../../core/errors.js';
import { RECONCILE_REQUESTED_AT } from '../../core/gitops/sync-status.js';
import { findCondition, kindInfo } from '../../core/resource.js';
import type { GitRepositoryStatus } from '../../core/schema/types.generated.js';
import { EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, type CommandContext } from '../context.js';
import { parseNamespacedArg } from '../service-arg.js';
import { parseWaitTimeout } from './rollout.js';

const POLL_MS = 500;

export async function runReconcile(ctx: CommandContext, args: string[], flags: { timeout?: string }): Promise<number> {
  const ref = parseNamespacedArg(args, ctx.namespace, 'reconcile', { kind: 'GitRepository', example: 'gitrepository/platform', words: ['git repository', 'git repositories'] });
  const deadline = ctx.now().getTime() + parseWaitTimeout(flags.timeout);
  const client = await ctx.client();
  const kind = kindInfo('GitRepository')!;
  const requestedAt = ctx.now().toISOString();
  await client.mergePatch(kind, ref.name, ref.namespace, { metadata: { annotations: { [RECONCILE_REQUESTED_AT]: requestedAt } } });
  const label = `gitrepository/${ref.name}`;
  ctx.err(`${label}: sync requested, waiting for it\n`);
  const signal = ctx.interruptSignal();
  for (;;) {
    const repo = await client.get(kind, ref.name, ref.namespace);
    const status = (repo.status ?? {}) as GitRepositoryStatus;
    if (status.lastHandledReconcileAt === requestedAt) {
      const sync = status.history?.[0];
      if (sync?.result === 'Failed') {
        ctx.err(`${label}: sync of ${sync.revision ?? 'the ref'} failed: ${sync.error ?? findCondition(status, 'Ready')?.message ?? 'unknown error'}\n`);
        return EXIT_ERROR;
      }
      const counts = sync ? ` (${sync.created ?? 0} created, ${sync.configured ?? 0} configured, ${sync.pruned ?? 0} pruned, ${sync.unchanged ?? 0} unchanged)` : '';
      ctx.out(`${label}: applied revision ${status.lastAppliedRevision}${counts}\n`);
      return EXIT_OK;
    }
    if (repo.spec && (repo.spec as { suspend?: boolean }).suspend) {
      throw new HoldfastError('Conflict', `${label} is suspended (spec.suspend: true): resume it to sync`);
    }
    if (ctx.now().getTime() >= deadline) {
      throw new HoldfastError('Timeout', `${label}: the sync did not finish in time; follow it with holdfast get gitrepository ${ref.name} -n ${ref.namespace} -o yaml`);
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, POLL_MS);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    if (signal.aborted) return EXIT_INTERRUPTED;
  }
}
