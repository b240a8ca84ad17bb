// `holdfast apply -f PATH…`: create what is missing, update what differs, leave the rest alone.
// All manifests are parsed and checked before the first write; objects go in dependency order.
// With --inventory NAME the ApplySet NAME records what the apply wrote; with --prune as well, what
// the set's last apply wrote and these manifests lack is deleted (kubectl's applyset idea).
import { HoldfastError } from '../../core/errors.js';
import type { InventoryEntry } from '../../core/gitops/inventory.js';
import type { Resource } from '../../core/resource.js';
import { manifestForCreate, type AppliedObject } from '../../core/apply-merge.js';
import { waitForAppliedServices } from '../apply-wait.js';
import { applySetSource, readApplySet, recordApplySet } from '../applyset.js';
import { ApiError, type HoldfastClient } from '../client.js';
import { EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, type CommandContext } from '../context.js';
import { formatServerError } from '../error-output.js';
import { inventoryOf, manifestEntries, pruneTargets, type InventorySource } from '../inventory-prune.js';
import { describeOrigin, loadManifests, skippedFileWarning, sortForApply, type ManifestObject } from '../../manifests/load.js';
import { resourceName } from '../printers.js';
import { parseWaitTimeout } from './rollout.js';

export type DryRunMode = 'none' | 'client' | 'server';

export interface ApplyFlags {
  filename: string[];
  recursive?: boolean;
  dryRun?: DryRunMode;
  /** Wait for the rollouts of the Services created or configured. */
  wait?: boolean;
  /** How long --wait waits, e.g. 5m. */
  timeout?: string;
  /** The ApplySet (in the project of -n) that records what this apply writes. */
  inventory?: string;
  /** Delete what the inventory's last apply wrote and these manifests lack. */
  prune?: boolean;
  /** With prune: manifests without objects are accepted (and prune the whole inventory). */
  allowEmpty?: boolean;
}

export function parseDryRun(text: string | boolean | undefined): DryRunMode {
  if (text === undefined || text === false || text === 'none') return 'none';
  if (text === 'server' || text === 'client') return text;
  throw new HoldfastError('BadRequest', `invalid --dry-run value "${String(text)}": use none, server or client`);
}

export function dryRunSuffix(mode: DryRunMode): string {
  return mode === 'server' ? ' (server dry run)' : mode === 'client' ? ' (dry run)' : '';
}

export async function runApply(ctx: CommandContext, flags: ApplyFlags): Promise<number> {
  const dryRun = flags.dryRun ?? 'none';
  if (flags.wait && dryRun !== 'none') throw new HoldfastError('BadRequest', '--wait waits for rollouts, which a dry run does not start: drop one of them');
  if (flags.timeout !== undefined && !flags.wait) throw new HoldfastError('BadRequest', '--timeout applies to --wait: add --wait');
  const waitTimeoutMs = flags.wait ? parseWaitTimeout(flags.timeout) : 0;
  if (flags.prune && !flags.inventory) throw new HoldfastError('BadRequest', '--prune needs --inventory NAME: the ApplySet whose last apply says what may be deleted');
  if (flags.allowEmpty && !flags.prune) throw new HoldfastError('BadRequest', '--allow-empty goes with --prune');
  const set = flags.inventory ? applySetSource(flags.inventory, ctx.namespace) : undefined;
  const manifests = sortForApply(
    await loadManifests(flags.filename, {
      recursive: flags.recursive,
      namespace: ctx.namespace,
      refuseKinds: ['Event'],
      validateSchema: true,
      buildContexts: true,
      onSkippedFile: (name) => ctx.err(skippedFileWarning(name)),
    }),
  );
  if (manifests.length === 0 && !(flags.prune && flags.allowEmpty)) {
    throw new HoldfastError(
      'BadRequest',
      flags.prune ? `no objects passed to apply: with --prune that would delete everything applyset "${set!.name}" holds; add --allow-empty if that is meant` : 'no objects passed to apply',
    );
  }

  if (dryRun === 'client') {
    // Checked locally, nothing sent: whether each object would be created or changed is the
    // server's to say (use --dry-run=server or `holdfast diff` for that).
    for (const m of manifests) ctx.out(`${resourceName(m.object)} valid${dryRunSuffix(dryRun)}\n`);
    if (flags.prune) {
      const client = await ctx.client();
      await pruneApplySet(ctx, client, set!, inventoryOf(await readApplySet(client, set!)), manifests, dryRun);
    }
    return EXIT_OK;
  }

  const client = await ctx.client();
  const previous = set ? inventoryOf(await readApplySet(client, set)) : [];
  // One request for the whole set: the server lays each manifest over what it stores, applies the
  // defaults, and stores every change in one transaction, or nothing.
  let outcomes: AppliedObject[];
  // A build context is stored in its Project's namespace: a Project of this set that the contexts
  // need is applied before they are uploaded (what it did is what this apply reports for it).
  const projectsFirst = new Map<string, AppliedObject>();
  try {
    if (dryRun === 'none') {
      const projects = projectsOfBuildContexts(manifests);
      if (projects.length) {
        const applied = await client.applySet(projects.map((m) => manifestForCreate(m.object, m.kind)));
        projects.forEach((m, i) => projectsFirst.set(m.object.metadata.name, applied[i]!));
      }
      await uploadBuildContexts(client, manifests);
    }
    outcomes = await client.applySet(
      manifests.map((m) => manifestForCreate(m.object, m.kind)),
      { dryRun: dryRun === 'server' },
    );
  } catch (err) {
    const failure = err instanceof UploadError ? err : undefined;
    const cause = failure ? failure.cause : err;
    if (!(cause instanceof ApiError) || cause.httpStatus === 401) throw cause;
    const culprit = failure?.manifest ?? manifests.find((m) => m.kind.kind === cause.details?.kind && m.object.metadata.name === cause.details?.name);
    const context = `error when ${failure ? 'uploading the build contexts of' : 'applying'} ${culprit ? describeOrigin(culprit) : `the ${manifests.length} objects`}`;
    ctx.err(formatServerError(cause, context));
    if (flags.prune) ctx.err(`warning: nothing pruned: not every object of applyset "${set!.name}" was applied\n`);
    return EXIT_ERROR;
  }
  let failed = false;
  const changedServices: Resource[] = [];
  manifests.forEach((manifest, i) => {
    const { object } = outcomes[i]!;
    const early = manifest.kind.kind === 'Project' ? projectsFirst.get(manifest.object.metadata.name) : undefined;
    const action = early && early.action !== 'unchanged' ? early.action : outcomes[i]!.action;
    ctx.out(`${resourceName(manifest.object)} ${action}${dryRunSuffix(dryRun)}\n`);
    if (manifest.kind.kind === 'Service' && action !== 'unchanged') changedServices.push(object);
  });
  if (set) {
    let kept: InventoryEntry[] = manifestEntries(manifests);
    if (flags.prune) {
      const left = await pruneApplySet(ctx, client, set, previous, manifests, dryRun);
      if (left.length) failed = true;
      kept = [...kept, ...left];
    }
    if (dryRun === 'none') await recordApplySet(client, set, kept, ctx.now());
  }
  if (flags.wait) {
    const rolledOut = await waitForAppliedServices(client, changedServices, {
      timeoutMs: waitTimeoutMs,
      print: (line) => ctx.out(line),
      printError: (line) => ctx.err(line),
      now: () => ctx.now().getTime(),
      signal: ctx.interruptSignal(),
    });
    if (rolledOut === 'interrupted') return EXIT_INTERRUPTED;
    if (rolledOut === 'failed') failed = true;
  }
  return failed ? EXIT_ERROR : EXIT_OK;
}

/**
 * Deletes (or, in a dry run, names) what the set's last apply wrote and `manifests` lack; returns
 * the entries of the objects whose delete failed, which stay in the set.
 */
async function pruneApplySet(ctx: CommandContext, client: HoldfastClient, set: InventorySource, inventory: InventoryEntry[], manifests: ManifestObject[], dryRun: DryRunMode): Promise<InventoryEntry[]> {
  const left: InventoryEntry[] = [];
  for (const { kind, live } of await pruneTargets(client, set, inventory, manifests)) {
    const { name, namespace } = live.metadata;
    try {
      if (dryRun !== 'client') await client.delete(kind, name, namespace, { dryRun: dryRun === 'server' });
      ctx.out(`${resourceName(live)} pruned${dryRunSuffix(dryRun)}\n`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.httpStatus === 401) throw err;
      if (err.httpStatus === 404) continue;
      left.push({ kind: kind.kind, ...(namespace ? { namespace } : {}), name });
      ctx.err(formatServerError(err, `error when pruning ${resourceName(live)}`));
    }
  }
  return left;
}

/** A build context upload that failed, with the manifest it belongs to. */
class UploadError extends Error {
  constructor(
    readonly manifest: ManifestObject,
    readonly cause: unknown,
  ) {
    super('uploading the build contexts');
  }
}

/** The Projects of the set whose namespaces hold build contexts to upload. */
function projectsOfBuildContexts(manifests: ManifestObject[]): ManifestObject[] {
  const namespaces = new Set(manifests.filter((m) => m.buildContexts?.length).map((m) => m.object.metadata.namespace));
  return manifests.filter((m) => m.kind.kind === 'Project' && namespaces.has(m.object.metadata.name));
}

/** Build contexts first (each only if the server lacks it), so a rollout of the written Service finds them. */
async function uploadBuildContexts(client: HoldfastClient, manifests: ManifestObject[]): Promise<void> {
  for (const manifest of manifests) {
    const namespace = manifest.object.metadata.namespace;
    if (!namespace) continue;
    for (const archive of manifest.buildContexts ?? []) {
      try {
        if (!(await client.hasBuildContext(namespace, archive.digest))) await client.uploadBuildContext(namespace, archive.digest, archive.tar);
      } catch (err) {
        throw new UploadError(manifest, err);
      }
    }
  }
}
