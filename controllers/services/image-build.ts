// A rollout's build of an image on the server: gets the build context (the pinned commit cloned here,
// or the tar `holdfast apply` uploaded), streams it to the server's engine and logs the build output.
import type { Readable } from 'node:stream';
import { RolloutFailure } from '../../core/deploy/rollout-verdicts.js';
import type { Action } from '../../core/plan/types.js';
import { contextTarAt } from './git-source.js';
import type { RolloutRun } from './rollout-run.js';

export async function buildImage(run: RolloutRun, action: Extract<Action, { type: 'build' }>, signal: AbortSignal): Promise<void> {
  const frozen = run.frozen();
  const git = action.build.git;
  const commit = frozen.sourceCommit;
  const digest = action.build.contextDigest;
  let context: Buffer | Readable;
  // OCI annotations only: a container inherits its image's labels, and ownership labels there would
  // make every container of the image look like Holdfast's own.
  let labels: Record<string, string>;
  await run.enterStep('clone');
  if (digest) {
    await run.log('clone', `reading the build context ${action.build.context} (${digest}) uploaded by holdfast apply`);
    const stored = await run.deps.buildContext?.(frozen.service.namespace, digest);
    if (!stored) {
      throw new RolloutFailure('BuildContextUnavailable', `${action.component}: the control plane holds no build context ${digest} for "${action.build.context}"; apply the manifest again with holdfast apply to upload it`);
    }
    await run.log('clone', `build context: ${Math.round(stored.size / 1024)} KiB`);
    context = stored.stream;
    labels = {};
  } else if (git && commit) {
    await run.log('clone', `fetching ${git.url} at ${commit.slice(0, 12)}`);
    try {
      context = await contextTarAt(git.url, commit, action.build.context, signal);
    } catch (err) {
      throw new RolloutFailure('CloneFailed', (err as Error).message);
    }
    await run.log('clone', `build context: ${Math.round(context.length / 1024)} KiB`);
    labels = { 'org.opencontainers.image.source': git.url, 'org.opencontainers.image.revision': commit };
  } else {
    throw new RolloutFailure('BuildContextUnavailable', `${action.component}: the build context "${action.build.context}" was not sent with the Service; apply the manifest with holdfast apply, which packs the directory beside the compose file and uploads it`);
  }
  await run.enterStep('build');
  try {
    await run.deps.host.docker.buildImage(
      context,
      { tags: [action.image], dockerfile: action.build.dockerfile, buildArgs: action.build.args, target: action.build.target, labels },
      {
        onProgress: (p) => {
          const text = (p.stream ?? p.status ?? '').trimEnd();
          if (text) void run.log('build', text);
        },
      },
      { signal },
    );
  } catch (err) {
    throw new RolloutFailure('BuildFailed', (err as Error).message);
  }
  await run.log('build', `built ${action.image}`);
}
