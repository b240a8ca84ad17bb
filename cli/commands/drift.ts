// `holdfast drift [service/NAME -n PROJECT | -A] [-o json|yaml]`: the services whose hosts differ
// from what was deployed (or whose declared spec is not rolled out), or one service's drift entries
// (with why it was rolled back, when it was); exit 1 when there is drift, as `diff` does. And
// `holdfast diff service/NAME -n PROJECT --live`: its frozen input against what runs.
import { ROLLED_BACK_CONDITION } from '../../core/deploy/rolled-back.js';
import { HoldfastError } from '../../core/errors.js';
import { kindInfo } from '../../core/resource.js';
import { ApiError, type HoldfastClient } from '../client.js';
import type { CommandContext } from '../context.js';
import { getServiceViews, type ServiceViews } from '../deployments-api.js';
import { driftedServices, driftedServicesTable, driftEntriesTable, liveDiff, sortDrift } from '../drift-printers.js';
import { toJson, toYaml } from '../printers.js';
import { parseServiceArg, type ServiceRef } from '../service-arg.js';
import { EXIT_DIFF, EXIT_NO_DIFF } from './diff.js';

export interface DriftFlags {
  output?: string;
  allNamespaces?: boolean;
}

export async function runDrift(ctx: CommandContext, args: string[], flags: DriftFlags): Promise<number> {
  const format = outputFormat(flags.output);
  if (flags.allNamespaces && args.length) throw new HoldfastError('BadRequest', 'pass either a service or -A, not both');
  if (flags.allNamespaces && ctx.namespace) throw new HoldfastError('BadRequest', 'pass either -n or -A, not both');
  const client = await ctx.client();
  if (args.length) return showServiceDrift(ctx, client, parseServiceArg(args, ctx.namespace, 'drift'), format);

  const namespace = flags.allNamespaces ? undefined : ctx.namespace;
  const services = await client.listAll(kindInfo('Service')!, { namespace });
  const drifted = driftedServices(services.items);
  if (format !== 'table') {
    const list = { kind: 'DriftedServiceList', items: drifted };
    ctx.out(format === 'json' ? toJson(list) : toYaml(list));
  } else if (drifted.length === 0) {
    ctx.out(namespace ? `No drift in project ${namespace}: every service matches its deployment.\n` : 'No drift: every service matches its deployment.\n');
  } else {
    ctx.out(driftedServicesTable(drifted, ctx.now(), !namespace));
  }
  return drifted.length ? EXIT_DIFF : EXIT_NO_DIFF;
}

async function showServiceDrift(ctx: CommandContext, client: HoldfastClient, service: ServiceRef, format: 'table' | 'json' | 'yaml'): Promise<number> {
  const views = await readViews(client, service);
  const drift = sortDrift(views.drift ?? []);
  const current = await client.get(kindInfo('Service')!, service.name, service.namespace);
  const rolled = current.status?.conditions?.find((c) => c.type === ROLLED_BACK_CONDITION && c.status === 'True');
  if (format !== 'table') {
    const value = { namespace: service.namespace, name: service.name, ...(rolled ? { rolledBack: rolled.message } : {}), drift };
    ctx.out(format === 'json' ? toJson(value) : toYaml(value));
  } else if (drift.length === 0) {
    ctx.out(`${service.label}: no drift (what runs and what is declared match the deployed input)\n`);
  } else {
    if (rolled) ctx.out(`${service.label}: ${rolled.message}\n`);
    ctx.out(driftEntriesTable(drift, ctx.now()));
  }
  return drift.length ? EXIT_DIFF : EXIT_NO_DIFF;
}

/** Exit 0 when what runs matches the frozen input, 1 when it differs; errors are thrown (exit 2). */
export async function runLiveDiff(ctx: CommandContext, args: string[]): Promise<number> {
  const service = parseServiceArg(args, ctx.namespace, 'diff --live');
  const client = await ctx.client();
  const views = await readViews(client, service);
  if (views.frozen === undefined || views.frozen === null) {
    throw new HoldfastError('NotFound', `${service.label} in project ${service.namespace} has not been deployed yet: there is no frozen input to compare what runs with`);
  }
  const text = liveDiff(service, views.frozen, views.live);
  if (!text) return EXIT_NO_DIFF;
  ctx.out(text);
  return EXIT_DIFF;
}

/** The views; a 404 from a server that has the Service but no views endpoint says so plainly. */
async function readViews(client: HoldfastClient, service: ServiceRef): Promise<ServiceViews> {
  try {
    return await getServiceViews(client, service.namespace, service.name);
  } catch (err) {
    if (!(err instanceof ApiError && err.httpStatus === 404)) throw err;
    const exists = await client.getIfExists(kindInfo('Service')!, service.name, service.namespace);
    if (!exists) throw err;
    throw new HoldfastError('NotFound', `the server at ${client.server} does not serve the views of services (declared, frozen, live and drift): it is older than this CLI`);
  }
}

function outputFormat(text: string | undefined): 'table' | 'json' | 'yaml' {
  if (text === undefined || text === '') return 'table';
  if (text === 'json' || text === 'yaml') return text;
  throw new HoldfastError('BadRequest', `unable to match a printer suitable for the output format "${text}", allowed formats are: json,yaml`);
}
