// `holdfast sync service/NAME -n PROJECT [--wait] [--yes]` (converge it now, once, whatever its drift
// policy; after a `rollout undo` it shows what that would roll out again and asks first) and
// `holdfast cancel --deployment ID` (the deployment ends `canceled` at its next step boundary).
import { rolledBack, rolledBackMessage } from '../../core/deploy/rolled-back.js';
import { HoldfastError } from '../../core/errors.js';
import { kindInfo } from '../../core/resource.js';
import type { HoldfastClient } from '../client.js';
import { askYesNo, stdinIsTerminal } from '../confirm.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { cancelDeployment, getServiceViews, listDeployments, syncService } from '../deployments-api.js';
import { driftEntriesTable } from '../drift-printers.js';
import { parseServiceArg, type ServiceRef } from '../service-arg.js';
import { parseWaitTimeout, waitForDeployment } from './rollout.js';

export interface SyncFlags {
  wait?: boolean;
  timeout?: string;
  /** Sync without asking, also after a rollback. */
  yes?: boolean;
}

export async function runSync(ctx: CommandContext, args: string[], flags: SyncFlags): Promise<number> {
  const service = parseServiceArg(args, ctx.namespace, 'sync');
  const timeoutMs = flags.wait ? parseWaitTimeout(flags.timeout) : 0;
  const client = await ctx.client();
  if (!flags.yes && !(await confirmUndoingRollback(ctx, client, service))) {
    ctx.out('sync canceled: nothing was deployed\n');
    return EXIT_ERROR;
  }
  const started = ctx.now().getTime();
  const d = await syncService(client, service.namespace, service.name);
  ctx.out(`${service.label} sync queued: deployment ${d.id} (revision ${d.revision})\n`);
  if (!flags.wait) return EXIT_OK;
  return waitForDeployment(ctx, client, service, d.id, started + timeoutMs);
}

/**
 * After `rollout undo`, a sync would roll the declared spec out again: show the difference and ask
 * (a terminal), or refuse without --yes (anything else). True when the sync may go ahead.
 */
async function confirmUndoingRollback(ctx: CommandContext, client: HoldfastClient, service: ServiceRef): Promise<boolean> {
  const [current, history] = await Promise.all([client.get(kindInfo('Service')!, service.name, service.namespace), listDeployments(client, service.namespace, service.name, 20)]);
  const generation = current.metadata.generation ?? 1;
  const rolled = rolledBack(generation, history);
  if (!rolled) return true;
  const difference = ((await getServiceViews(client, service.namespace, service.name)).drift ?? []).filter((e) => e.source === 'declared-vs-frozen');
  ctx.out(`${service.label}: ${rolledBackMessage(rolled)}\n`);
  ctx.out(`sync rolls out the declared spec (generation ${generation}) again, undoing that rollback`);
  ctx.out(difference.length ? ':\n' + driftEntriesTable(difference, ctx.now()) : '.\n');
  if (!stdinIsTerminal()) {
    throw new HoldfastError('BadRequest', `${service.label} in project ${service.namespace} was rolled back to revision ${rolled.toRevision}; stdin is not a terminal to confirm the sync: pass --yes to roll out the declared spec again`);
  }
  return askYesNo('Roll out the declared spec again?');
}

export interface CancelFlags {
  deployment?: string;
}

export async function runCancel(ctx: CommandContext, flags: CancelFlags): Promise<number> {
  if (!flags.deployment) throw new HoldfastError('BadRequest', 'cancel needs --deployment ID (see `holdfast rollout history service/NAME -n PROJECT` for IDs)');
  const client = await ctx.client();
  const d = await cancelDeployment(client, flags.deployment);
  ctx.out(`deployment ${d.id} cancel requested (service/${d.service} in ${d.namespace}, revision ${d.revision}): it ends at its next step boundary\n`);
  return EXIT_OK;
}
