// `holdfast diff -f PATH…`: what apply would change, as a unified diff. The server dry-runs each
// write, so schema defaults and admission count and never show up as differences.
// Exit: 0 no differences, 1 differences, 2 (thrown) an error.
import { HoldfastError } from '../../core/errors.js';
import type { Resource } from '../../core/resource.js';
import { manifestForCreate, mergeManifestOntoLive } from '../apply-merge.js';
import { ApiError, type HoldfastClient } from '../client.js';
import type { CommandContext } from '../context.js';
import { formatServerError } from '../error-output.js';
import { describeOrigin, loadManifests, skippedFileWarning, sortForApply, type ManifestObject } from '../manifests.js';
import { objectDiff } from '../object-diff.js';

export const EXIT_NO_DIFF = 0;
export const EXIT_DIFF = 1;
export const EXIT_DIFF_ERROR = 2;

export interface DiffFlags {
  filename?: string[];
  recursive?: boolean;
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
  if (failed) return EXIT_DIFF_ERROR;
  return differs ? EXIT_DIFF : EXIT_NO_DIFF;
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
