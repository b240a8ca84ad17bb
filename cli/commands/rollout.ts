// `holdfast rollout history|undo|status service/NAME -n PROJECT`, as kubectl rolls out deployments:
// the revisions of a Service, a rollback to an earlier one, and a wait for the current one to end.
import { HoldfastError } from '../../core/errors.js';
import { kindInfo } from '../../core/resource.js';
import type { HoldfastClient } from '../client.js';
import { parseDuration } from '../config.js';
import { EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, type CommandContext } from '../context.js';
import { confirmUndo } from '../destructive.js';
import { getDeployment, listDeployments, readLogLines, rollbackService, type DeploymentSummary } from '../deployments-api.js';
import { toJson, toYaml } from '../printers.js';
import { historyTable, interruptedLines } from '../rollout-printers.js';
import { succeeded, waitForRollout, type RolloutReader } from '../rollout-wait.js';
import { parseServiceArg } from '../service-arg.js';

export const DEFAULT_WAIT_TIMEOUT = '5m';

export interface HistoryFlags {
  output?: string;
}

export async function runRolloutHistory(ctx: CommandContext, args: string[], flags: HistoryFlags): Promise<number> {
  const format = historyFormat(flags.output);
  const service = parseServiceArg(args, ctx.namespace, 'rollout history');
  const client = await ctx.client();
  const items = await listDeployments(client, service.namespace, service.name);
  if (format === 'json' || format === 'yaml') {
    const list = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'DeploymentList', items };
    ctx.out(format === 'json' ? toJson(list) : toYaml(list));
    return EXIT_OK;
  }
  if (items.length === 0) {
    ctx.out(`No deployments of ${service.label} in project ${service.namespace} yet.\n`);
    return EXIT_OK;
  }
  ctx.out(historyTable(items, ctx.now()));
  return EXIT_OK;
}

export interface UndoFlags {
  toRevision?: string;
  wait?: boolean;
  timeout?: string;
  yes?: boolean;
}

export async function runRolloutUndo(ctx: CommandContext, args: string[], flags: UndoFlags): Promise<number> {
  const service = parseServiceArg(args, ctx.namespace, 'rollout undo');
  const toRevision = parseRevision(flags.toRevision);
  const timeoutMs = flags.wait ? parseWaitTimeout(flags.timeout) : 0;
  const client = await ctx.client();
  if (!(await confirmUndo(ctx, client, service, toRevision, flags.yes))) return EXIT_ERROR;
  const started = ctx.now().getTime();
  const d = await rollbackService(client, service.namespace, service.name, toRevision);
  ctx.out(`${service.label} rolled back: deployment ${d.id} (revision ${d.revision}) redeploys revision ${d.rollbackOf ?? '?'}\n`);
  if (!flags.wait) return EXIT_OK;
  return waitForDeployment(ctx, client, service, d.id, started + timeoutMs);
}

/**
 * Follows one deployment of the Service (the one sync or undo queued, or named with --deployment;
 * else the newest queued for it) to its end: exit 1 unless it completed, 130 on Ctrl-C, after
 * saying how to follow or cancel the rollout that goes on.
 */
export async function waitForDeployment(
  ctx: CommandContext,
  client: HoldfastClient,
  service: { namespace: string; name: string; label: string },
  deploymentId: string | undefined,
  deadline: number,
): Promise<number> {
  const result = await waitForRollout(rolloutReader(client), {
    ...service,
    deploymentId,
    deadline,
    print: (line) => ctx.out(line),
    now: () => ctx.now().getTime(),
    signal: ctx.interruptSignal(),
  });
  if (result.outcome === 'interrupted') {
    ctx.err(interruptedLines(service.label, service, result.deploymentId));
    return EXIT_INTERRUPTED;
  }
  return succeeded(result) ? EXIT_OK : EXIT_ERROR;
}

export interface StatusFlags {
  timeout?: string;
  deployment?: string;
}

/** Waits for the Service's newest rollout (or the one named); exit 1 when it failed, was canceled or the wait timed out. */
export async function runRolloutStatus(ctx: CommandContext, args: string[], flags: StatusFlags): Promise<number> {
  const service = parseServiceArg(args, ctx.namespace, 'rollout status');
  const timeoutMs = parseWaitTimeout(flags.timeout);
  const client = await ctx.client();
  const deadline = ctx.now().getTime() + timeoutMs;
  if (flags.deployment !== undefined) {
    const d = await getDeployment(client, flags.deployment);
    if (d.namespace !== service.namespace || d.service !== service.name) {
      throw new HoldfastError('BadRequest', `deployment ${d.id} belongs to service/${d.service} in project ${d.namespace}, not ${service.label} in project ${service.namespace}`);
    }
  }
  return waitForDeployment(ctx, client, service, flags.deployment, deadline);
}

export function rolloutReader(client: HoldfastClient): RolloutReader {
  const services = kindInfo('Service')!;
  return {
    service: (namespace, name) => client.get(services, name, namespace),
    deployment: (id) => getDeployment(client, id) as Promise<DeploymentSummary>,
    history: (namespace, name) => listDeployments(client, namespace, name, 20),
    logs: (id, afterId) => readLogLines(client, id, afterId),
  };
}

/** `--timeout 5m`: how long a wait may take; it must be positive, since a wait has to end. */
export function parseWaitTimeout(text: string | undefined): number {
  const ms = parseDuration(text ?? DEFAULT_WAIT_TIMEOUT);
  if (ms <= 0) throw new HoldfastError('BadRequest', `--timeout must be positive (got "${text}"), e.g. --timeout 10m`);
  return ms;
}

function parseRevision(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new HoldfastError('BadRequest', `--to-revision must be a revision number from \`holdfast rollout history\` (got "${text}")`);
  }
  return n;
}

function historyFormat(text: string | undefined): 'table' | 'json' | 'yaml' {
  if (text === undefined || text === '') return 'table';
  if (text === 'json' || text === 'yaml') return text;
  throw new HoldfastError('BadRequest', `unable to match a printer suitable for the output format "${text}", allowed formats are: json,yaml`);
}
