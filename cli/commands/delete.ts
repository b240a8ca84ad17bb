// `holdfast delete -f PATH…` and `holdfast delete KIND NAME…`: prints what was deleted as kubectl
// does; objects with finalizers left are marked for deletion and go once their controllers finish.
import { HoldfastError } from '../../core/errors.js';
import type { KindInfo } from '../../core/resource.js';
import { ApiError } from '../client.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { formatServerError } from '../error-output.js';
import { loadManifests, skippedFileWarning, sortForDelete } from '../manifests.js';
import { kindQualifier } from '../printers.js';
import { parseResourceArgs, requireNamespace } from '../resource-args.js';
import { dryRunSuffix, type DryRunMode } from './apply.js';

export interface DeleteFlags {
  filename?: string[];
  recursive?: boolean;
  ignoreNotFound?: boolean;
  dryRun?: DryRunMode;
  /** Wait until objects held by finalizers are gone (kubectl's --wait, on by default). */
  wait?: boolean;
  /** How long to wait, in ms. */
  timeoutMs?: number;
}

const DEFAULT_WAIT_MS = 5 * 60_000;

interface Target {
  kind: KindInfo;
  name: string;
  namespace?: string;
}

export async function runDelete(ctx: CommandContext, args: string[], flags: DeleteFlags): Promise<number> {
  const dryRun = flags.dryRun ?? 'none';
  const targets = await deleteTargets(ctx, args, flags);
  if (dryRun === 'client') {
    for (const t of targets) ctx.out(`${kindQualifier(t.kind.kind)} "${t.name}" deleted${dryRunSuffix(dryRun)}\n`);
    return EXIT_OK;
  }
  const client = await ctx.client();
  let failed = false;
  const pending: Target[] = [];
  for (const t of targets) {
    try {
      const answer = await client.delete(t.kind, t.name, t.namespace, { dryRun: dryRun === 'server' });
      ctx.out(`${kindQualifier(t.kind.kind)} "${t.name}" deleted${dryRunSuffix(dryRun)}\n`);
      if (dryRun === 'none' && (answer as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp) pending.push(t);
    } catch (err) {
      if (!(err instanceof ApiError) || err.httpStatus === 401) throw err;
      if (err.httpStatus === 404 && flags.ignoreNotFound) continue;
      failed = true;
      ctx.err(formatServerError(err));
    }
  }
  // Like kubectl: finalizers let controllers clean up first (containers on the hosts); wait for that.
  if (pending.length && flags.wait !== false) {
    const deadline = Date.now() + (flags.timeoutMs ?? DEFAULT_WAIT_MS);
    for (const t of pending) {
      for (;;) {
        const still = await client.getIfExists(t.kind, t.name, t.namespace);
        if (!still) break;
        if (Date.now() > deadline) {
          ctx.err(`error: timed out waiting for ${kindQualifier(t.kind.kind)} "${t.name}" to be deleted (waiting on finalizers: ${(still.metadata.finalizers ?? []).join(', ') || 'none'})\n`);
          failed = true;
          break;
        }
        await new Promise((ok) => setTimeout(ok, 250));
      }
    }
  }
  return failed ? EXIT_ERROR : EXIT_OK;
}

async function deleteTargets(ctx: CommandContext, args: string[], flags: DeleteFlags): Promise<Target[]> {
  if (flags.filename?.length) {
    if (args.length) throw new HoldfastError('BadRequest', 'pass either -f or resource arguments, not both');
    const manifests = sortForDelete(
      await loadManifests(flags.filename, {
        recursive: flags.recursive,
        namespace: ctx.namespace,
        onSkippedFile: (name) => ctx.err(skippedFileWarning(name)),
      }),
    );
    if (!manifests.length) throw new HoldfastError('BadRequest', 'no objects passed to delete');
    return manifests.map((m) => ({ kind: m.kind, name: m.object.metadata.name, namespace: m.object.metadata.namespace }));
  }
  const selections = parseResourceArgs(args);
  const targets: Target[] = [];
  for (const { kind, names } of selections) {
    if (names.length === 0) {
      throw new HoldfastError('BadRequest', `resource(s) were provided, but no name was specified: holdfast delete ${kind.singular} NAME`);
    }
    for (const name of names) targets.push({ kind, name, namespace: requireNamespace(kind, name, ctx.namespace) });
  }
  return targets;
}
