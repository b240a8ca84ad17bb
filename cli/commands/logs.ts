// `holdfast logs --deployment ID [--follow] [--step STEP]`: a deployment's log, `STEP  line` per
// line; with --follow, new lines as they are written until the deployment ends.
import { HoldfastError } from '../../core/errors.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { streamLogs } from '../deployments-api.js';

export interface LogsFlags {
  deployment?: string;
  follow?: boolean;
  step?: string;
}

export async function runLogs(ctx: CommandContext, flags: LogsFlags): Promise<number> {
  if (!flags.deployment) throw new HoldfastError('BadRequest', 'logs needs --deployment ID (see `holdfast rollout history service/NAME -n PROJECT` for IDs)');
  const client = await ctx.client();
  // Ctrl-C while following ends the output cleanly.
  const signal = flags.follow ? ctx.interruptSignal() : undefined;
  for await (const text of streamLogs(client, flags.deployment, { follow: flags.follow, step: flags.step, signal })) ctx.out(text);
  return EXIT_OK;
}
