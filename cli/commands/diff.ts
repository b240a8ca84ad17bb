// `holdfast diff -f PATH…`: what apply would change, as a unified diff. The server dry-runs each
// write, so schema defaults and admission count and never show up as differences.
// With --prune gitrepository/NAME (or applyset/NAME) it also shows what a sync of these manifests by
// that source (an apply --prune --inventory NAME) would delete: what its inventory has and the
// manifests lack (objects annotated prune: disabled, or in another source's inventory, stay).
// Exit: 0 no differences, 1 differences, 2 (thrown) an error.
import { HoldfastError } from '../../core/errors.js';
import { kindInfo, type Resource } from '../../core/resource.js';
import { manifestForCreate, mergeManifestOntoLive } from '../../core/apply-merge.js';
import { ApiError, type HoldfastClient } from '../client.js';
import { EXIT_DIFF_ERROR, type CommandContext } from '../context.js';
import { formatServerError } from '../error-output.js';
import { inventoryOf, pruneTargets, type InventorySource } from '../inventory-prune.js';
import { describeOrigin, loadManifests, skippedFileWarning, sortForApply, type ManifestObject } from '../../manifests/load.js';
import { objectDeletionDiff, objectDiff } from '../object-diff.js';

export const EXIT_NO_DIFF = 0;
export const EXIT_DIFF = 1;

export interface DiffFlags {
  filename?: string[];
  recursive?: boolean;
  /** The GitRepository or ApplySet whose inventory the manifests stand for: show what it would prune. */
  pruneSource?: InventorySource;
}

export async function runDiff(ctx: CommandContext, flags: DiffFlags): Promise<number> {
  if (!flags.filename?.length) {
    throw new HoldfastError('BadRequest', 'diff needs manifests (-f PATH) to compare with the server, or a service with --live (service/NAME -n PROJECT --live) to compare its deployed input with what runs');
  }
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
  if (manifests.length === 0) throw new HoldfastError('BadRequest', 'no objects passed to diff');
  const client = await ctx.client();
  let differs = false;
  let failed = false;
  // Projects these manifests would create: a dry run cannot create objects inside them yet.
  const newProjects = new Set<string>();
  for (const manifest of manifests) {
    const { kind, object } = manifest;
    try {
      const live = await client.getIfExists(kind, object.metadata.name, object.metadata.namespace);
      if (!live && kind.kind === 'Project') newProjects.add(object.metadata.name);
      const predicted: Resource = live
        ? await client.replace(kind, mergeManifestOntoLive(live, object, kind), { dryRun: true })
        : await dryRunCreate(client, manifest, newProjects);
      const text = objectDiff(live, predicted, kind);
      if (text) {
        differs = true;
        ctx.out(text);
      }
    } catch (err) {
      if (!(err instanceof ApiError) || err.httpStatus === 401) throw err;
      failed = true;
      ctx.err(formatServerError(err, `error when computing the diff for ${describeOrigin(manifest)}`));
    }
  }
  if (flags.pruneSource && (await printPrunes(ctx, client, flags.pruneSource, manifests))) differs = true;
  if (failed) return EXIT_DIFF_ERROR;
  return differs ? EXIT_DIFF : EXIT_NO_DIFF;
}

/** Prints the deletion of each object the source's inventory has and the manifests lack; whether there was one. */
async function printPrunes(ctx: CommandContext, client: HoldfastClient, source: InventorySource, manifests: ManifestObject[]): Promise<boolean> {
  const owner = await client.get(kindInfo(source.kind)!, source.name, source.namespace);
  const targets = await pruneTargets(client, source, inventoryOf(owner), manifests);
  for (const { kind, live } of targets) ctx.out(objectDeletionDiff(live, kind));
  return targets.length > 0;
}

/**
 * The server's dry-run create; for an object in a Project these manifests create, which the dry run
 * cannot see, the manifest itself (without server defaults) is the best prediction there is.
 */
async function dryRunCreate(client: HoldfastClient, manifest: ManifestObject, newProjects: Set<string>): Promise<Resource> {
  const body = manifestForCreate(manifest.object, manifest.kind);
  try {
    return await client.create(manifest.kind, body, { dryRun: true });
  } catch (err) {
    const namespace = manifest.object.metadata.namespace;
    const projectMissing = err instanceof ApiError && err.httpStatus === 404 && namespace !== undefined && newProjects.has(namespace);
    if (projectMissing) return body;
    throw err;
  }
}
