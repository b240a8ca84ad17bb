// `holdfast server cleanup NAME [--dry-run] [--all [--yes]] [--keep-deployments N] [-n PROJECT]`: what
// can go from a server (one project's objects only with -n) (stopped containers, unused images and networks of Holdfast's; with --all anyone's, and
// the build cache), with sizes and a total. Without --dry-run it removes exactly what the preview
// listed: the server plans again, and anything new since the preview is reported, not removed.
import type { CleanupItem } from '../../core/cleanup/cleanup-plan.js';
import { HoldfastError } from '../../core/errors.js';
import { formatBytes } from '../../core/format-bytes.js';
import { API_VERSION } from '../../core/resource.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { confirmDestructive } from '../confirm.js';
import { renderTable } from '../printers.js';

export interface CleanupFlags {
  dryRun?: boolean;
  all?: boolean;
  yes?: boolean;
  keepDeployments?: string;
}

interface CleanupPlanAnswer {
  remove: CleanupItem[];
  keep: CleanupItem[];
  totalBytes: number;
}

interface CleanupResultAnswer {
  removed: CleanupItem[];
  failed: Array<CleanupItem & { error: string }>;
  notPreviewed: CleanupItem[];
  noLongerEligible: string[];
  freedBytes: number;
}

export async function runServerCleanup(ctx: CommandContext, target: string, flags: CleanupFlags): Promise<number> {
  const name = target.startsWith('server/') ? target.slice('server/'.length) : target;
  if (!name || name.includes('/')) throw new HoldfastError('BadRequest', `server cleanup takes a server name (edge-1 or server/edge-1), got "${target}"`);
  if (flags.keepDeployments !== undefined && !/^[1-9]\d*$/.test(flags.keepDeployments)) {
    throw new HoldfastError('BadRequest', `--keep-deployments must be a whole number of at least 1, got "${flags.keepDeployments}"`);
  }
  const client = await ctx.client();
  const path = `/apis/${API_VERSION}/servers/${encodeURIComponent(name)}/cleanup`;
  const options = {
    all: flags.all === true,
    ...(flags.keepDeployments ? { keepDeployments: Number(flags.keepDeployments) } : {}),
    ...(ctx.namespace ? { project: ctx.namespace } : {}),
  };
  const plan = (await client.request({ method: 'GET', path, query: { all: options.all ? 'true' : undefined, keepDeployments: options.keepDeployments, project: options.project } })) as CleanupPlanAnswer;

  if (plan.remove.length === 0) ctx.out(`nothing to clean up on server ${name}\n`);
  else {
    ctx.out(renderTable([['KIND', 'NAME', 'SIZE', 'WHY'], ...plan.remove.map((i) => [i.kind, i.name, formatBytes(i.size), i.reason])]));
    ctx.out(`total: ${plan.remove.length} object${plan.remove.length === 1 ? '' : 's'}, ${formatBytes(plan.totalBytes)}${flags.dryRun ? ' would be freed (dry run)' : ''}\n`);
  }
  if (plan.keep.length > 0) {
    ctx.out(`kept:\n${plan.keep.map((i) => `  ${i.kind} ${i.name}: ${i.reason}\n`).join('')}`);
  }
  if (flags.dryRun || plan.remove.length === 0) return EXIT_OK;

  // Only Holdfast's own objects go without asking; --all reaches everyone's.
  if (options.all && !(await confirmDestructive(`remove these ${plan.remove.length} objects from server ${name}, including ones Holdfast did not create`, { yes: flags.yes }))) {
    ctx.err('nothing removed\n');
    return EXIT_ERROR;
  }

  const result = (await client.request({ method: 'POST', path, body: { ...options, items: plan.remove.map((i) => i.id) } })) as CleanupResultAnswer;
  for (const item of result.removed) ctx.out(`${item.kind} ${item.name} removed\n`);
  for (const item of result.failed) ctx.err(`${item.kind} ${item.name} not removed: ${item.error}\n`);
  for (const item of result.notPreviewed) ctx.out(`${item.kind} ${item.name} kept: new since the preview (run cleanup again to see it)\n`);
  if (result.noLongerEligible.length) ctx.out(`${result.noLongerEligible.length} object${result.noLongerEligible.length === 1 ? '' : 's'} of the preview kept: no longer eligible (gone, or in use again)\n`);
  ctx.out(`freed ${formatBytes(result.freedBytes)} on server ${name}\n`);
  return result.failed.length ? EXIT_ERROR : EXIT_OK;
}
