// `holdfast logs service/NAME -n PROJECT [-f] [--tail N] [--since 10m] [--timestamps] [--replica N]
// [--container C] [--previous]`: a Service's container logs, streamed from its server as kubectl logs
// streams a pod's (several replicas interleaved, each line prefixed `[web-1]`).
// `holdfast logs --deployment ID [--follow] [--step STEP]`: a deployment's log, `STEP  line` per line.
import { HoldfastError } from '../../core/errors.js';
import { parseDuration } from '../config.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { streamLogs } from '../deployments-api.js';
import { GROUP, VERSION } from '../../core/resource.js';
import { parseServiceArg } from '../service-arg.js';

export interface LogsFlags {
  deployment?: string;
  follow?: boolean;
  step?: string;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  replica?: string;
  container?: string;
  previous?: boolean;
  prefix?: boolean;
}

export async function runLogs(ctx: CommandContext, args: string[], flags: LogsFlags): Promise<number> {
  if (flags.deployment) {
    if (args.length > 0) throw new HoldfastError('BadRequest', 'give a service or --deployment ID, not both');
    const client = await ctx.client();
    // Ctrl-C while following ends the output cleanly.
    const signal = flags.follow ? ctx.interruptSignal() : undefined;
    for await (const text of streamLogs(client, flags.deployment, { follow: flags.follow, step: flags.step, signal })) ctx.out(text);
    return EXIT_OK;
  }
  if (args.length === 0) {
    throw new HoldfastError('BadRequest', 'logs needs a service (holdfast logs service/web -n shop) or --deployment ID (see holdfast rollout history service/NAME -n PROJECT)');
  }
  if (flags.step) throw new HoldfastError('BadRequest', '--step reads a deployment log: use it with --deployment ID');
  const service = parseServiceArg(args, ctx.namespace, 'logs');
  const query: Record<string, string | undefined> = {
    follow: flags.follow ? 'true' : undefined,
    tailLines: flags.tail === undefined ? undefined : wholeNumber(flags.tail, '--tail', 0),
    sinceSeconds: flags.since === undefined ? undefined : String(Math.max(1, Math.ceil(parseDuration(flags.since) / 1000))),
    timestamps: flags.timestamps ? 'true' : undefined,
    replica: flags.replica === undefined ? undefined : wholeNumber(flags.replica, '--replica', 1),
    container: flags.container,
    previous: flags.previous ? 'true' : undefined,
    prefix: flags.prefix === undefined ? undefined : String(flags.prefix),
  };
  const client = await ctx.client();
  const signal = flags.follow ? ctx.interruptSignal() : undefined;
  for await (const text of client.streamText({ method: 'GET', path: `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(service.namespace)}/services/${encodeURIComponent(service.name)}/log`, query }, signal)) ctx.out(text);
  return EXIT_OK;
}

function wholeNumber(text: string, flag: string, min: number): string {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new HoldfastError('BadRequest', `${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got "${text}"`);
  return text;
}
