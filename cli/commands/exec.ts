// `holdfast exec [-i] [-t] service/NAME -n PROJECT [--replica N] [-c COMPOSE_SERVICE] -- COMMAND…`:
// a command in one of a Service's containers, as kubectl exec runs one in a pod.
// `holdfast ssh server/NAME`: the login shell on a server, over the control plane's kept connection.
// Both speak to the API's terminal WebSockets and exit with the remote process's exit code.
import { HoldfastError } from '../../core/errors.js';
import { API_VERSION } from '../../core/resource.js';
import { CHANNEL_PROTOCOLS } from '../../core/terminal/channel-protocol.js';
import { resolveKind } from '../resource-args.js';
import { parseServiceArg } from '../service-arg.js';
import { attachTerminal } from '../terminal-attach.js';
import type { CommandContext } from '../context.js';

export interface ExecFlags {
  stdin?: boolean;
  tty?: boolean;
  replica?: string;
  container?: string;
}

export async function runExec(ctx: CommandContext, target: string, command: string[], flags: ExecFlags): Promise<number> {
  const service = parseServiceArg([target], ctx.namespace, 'exec');
  if (command.length === 0) throw new HoldfastError('BadRequest', `exec needs a command after --, e.g. holdfast exec -it service/${service.name} -n ${service.namespace} -- sh`);
  if (flags.replica !== undefined && !/^[1-9]\d*$/.test(flags.replica)) throw new HoldfastError('BadRequest', `--replica must be a whole number of at least 1, got "${flags.replica}"`);
  const tty = wantTty(ctx, flags.tty === true);
  const query = new URLSearchParams();
  for (const arg of command) query.append('command', arg);
  query.set('stdin', String(flags.stdin === true));
  query.set('tty', String(tty));
  if (flags.replica) query.set('replica', flags.replica);
  if (flags.container) query.set('container', flags.container);
  const client = await ctx.client();
  const path = `/apis/${API_VERSION}/namespaces/${encodeURIComponent(service.namespace)}/services/${encodeURIComponent(service.name)}/exec`;
  const ws = await client.openWebSocket(path, query, CHANNEL_PROTOCOLS);
  return attachTerminal(ws, { tty, stdin: flags.stdin === true });
}

export async function runSsh(ctx: CommandContext, target: string): Promise<number> {
  const slash = target.indexOf('/');
  const name = slash >= 0 ? target.slice(slash + 1) : target;
  if (slash >= 0 && resolveKind(target.slice(0, slash)).kind !== 'Server') throw new HoldfastError('BadRequest', `ssh opens a shell on a server: pass server/NAME (got "${target}")`);
  if (!name) throw new HoldfastError('BadRequest', 'ssh needs a server: holdfast ssh server/NAME');
  // Like ssh: a terminal when this side is one, plain pipes for scripts.
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const query = new URLSearchParams({ stdin: 'true', tty: String(tty) });
  const client = await ctx.client();
  const ws = await client.openWebSocket(`/apis/${API_VERSION}/servers/${encodeURIComponent(name)}/shell`, query, CHANNEL_PROTOCOLS);
  return attachTerminal(ws, { tty, stdin: true });
}

/** -t asks for a terminal; as kubectl does, it is dropped (with a note) when stdin is not one. */
function wantTty(ctx: CommandContext, asked: boolean): boolean {
  if (!asked) return false;
  if (process.stdin.isTTY) return true;
  ctx.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
  return false;
}
