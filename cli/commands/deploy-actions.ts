// `holdfast sync service/NAME -n PROJECT [--wait]` (converge it now, once, whatever its drift policy)
// and `holdfast cancel --deployment ID` (the deployment ends `canceled` at its next step boundary).
import { HoldfastError } from '../../core/errors.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { cancelDeployment, syncService } from '../deployments-api.js';
import { parseServiceArg } from '../service-arg.js';
import { parseWaitTimeout, waitForDeployment } from './rollout.js';

export interface SyncFlags {
  wait?: boolean;
  timeout?: string;
}

export async function runSync(ctx: CommandContext, args: string[], flags: SyncFlags): Promise<number> {
  const service = parseServiceArg(args, ctx.namespace, 'sync');
  const timeoutMs = flags.wait ? parseWaitTimeout(flags.timeout) : 0;
  const client = await ctx.client();
  const started = ctx.now().getTime();
  const d = await syncService(client, service.namespace, service.name);
  ctx.out(`${service.label} sync queued: deployment ${d.id} (revision ${d.revision})\n`);
  if (!flags.wait) return EXIT_OK;
  return waitForDeployment(ctx, client, service, d.id, started + timeoutMs);
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
