// `holdfast apply -f PATH…`: create what is missing, update what differs, leave the rest alone.
// All manifests are parsed and checked before the first write; objects go in dependency order.
import { HoldfastError } from '../../core/errors.js';
import type { Resource } from '../../core/resource.js';
import { isUnchanged, isUnchangedOnServer, manifestForCreate, mergeManifestOntoLive } from '../apply-merge.js';
import { waitForAppliedServices } from '../apply-wait.js';
import { ApiError, type HoldfastClient } from '../client.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { formatServerError } from '../error-output.js';
import { describeOrigin, loadManifests, skippedFileWarning, sortForApply, type ManifestObject } from '../manifests.js';
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
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyOutcome {
  manifest: ManifestObject;
  action: ApplyAction;
  /** The object as the server stored it (or would have, in a dry run). */
  object: Resource;
}

/** A write that failed, with the step it failed in, for kubectl's `error when creating "file"`. */
class ApplyStepError extends Error {
  constructor(
    readonly step: 'retrieving the current state of' | 'uploading the build contexts of' | 'creating' | 'updating',
    readonly cause: unknown,
  ) {
    super(step);
  }
}

/** Concurrent writers can move resourceVersion between our read and write; re-read and retry. */
const CONFLICT_ATTEMPTS = 3;

/** Requests in flight at once within a wave: enough to hide round trips, few enough to be polite. */
const APPLY_CONCURRENCY = 8;

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
  if (manifests.length === 0) throw new HoldfastError('BadRequest', 'no objects passed to apply');

  if (dryRun === 'client') {
    // Checked locally, nothing sent: whether each object would be created or changed is the
    // server's to say (use --dry-run=server or `holdfast diff` for that).
    for (const m of manifests) ctx.out(`${resourceName(m.object)} valid${dryRunSuffix(dryRun)}\n`);
    return EXIT_OK;
  }

  const client = await ctx.client();
  let failed = false;
  const changedServices: Resource[] = [];
  // Objects of one kind do not depend on each other: each kind is applied as a wave of concurrent
  // requests, kinds one after another in dependency order. Lines come out in manifest order.
  for (const wave of wavesByKind(manifests)) {
    await forEachConcurrently(
      wave,
      APPLY_CONCURRENCY,
      (manifest) => applyObject(client, manifest, dryRun === 'server'),
      (manifest, result) => {
        if (result.ok) {
          const outcome = result.value;
          ctx.out(`${resourceName(manifest.object)} ${outcome.action}${dryRunSuffix(dryRun)}\n`);
          if (manifest.kind.kind === 'Service' && outcome.action !== 'unchanged') changedServices.push(outcome.object);
          return;
        }
        const err = result.error;
        if (!(err instanceof ApplyStepError)) throw err;
        if (!(err.cause instanceof ApiError) || err.cause.httpStatus === 401) throw err.cause;
        failed = true;
        ctx.err(formatServerError(err.cause, `error when ${err.step} ${describeOrigin(manifest)}`));
      },
    );
  }
  if (flags.wait) {
    const rolledOut = await waitForAppliedServices(client, changedServices, {
      timeoutMs: waitTimeoutMs,
      print: (line) => ctx.out(line),
      now: () => ctx.now().getTime(),
    });
    if (!rolledOut) failed = true;
  }
  return failed ? EXIT_ERROR : EXIT_OK;
}

/**
 * Build contexts first (each only if the server lacks it), so a rollout of the written Service finds
 * them; then GET; 404 → POST; otherwise merge onto live and PUT unless nothing would change.
 */
export async function applyObject(client: HoldfastClient, manifest: ManifestObject, dryRun: boolean): Promise<ApplyOutcome> {
  const { kind, object } = manifest;
  const namespace = object.metadata.namespace;
  if (!dryRun && namespace && manifest.buildContexts?.length) {
    await step('uploading the build contexts of', async () => {
      for (const archive of manifest.buildContexts ?? []) {
        if (!(await client.hasBuildContext(namespace, archive.digest))) await client.uploadBuildContext(namespace, archive.digest, archive.tar);
      }
    });
  }
  for (let attempt = 1; ; attempt++) {
    const live = await step('retrieving the current state of', () => client.getIfExists(kind, object.metadata.name, object.metadata.namespace));
    try {
      if (!live) {
        const created = await step('creating', () => client.create(kind, manifestForCreate(object, kind), { dryRun }));
        return { manifest, action: 'created', object: created };
      }
      const merged = mergeManifestOntoLive(live, object, kind);
      if (isUnchanged(live, merged, kind)) return { manifest, action: 'unchanged', object: live };
      // The server fills in schema defaults the manifest left out; only its dry run shows whether
      // the write would change anything (and, for write-only kinds, whether values changed).
      const predicted = await step('updating', () => client.replace(kind, merged, { dryRun: true }));
      if (isUnchangedOnServer(live, predicted, kind)) return { manifest, action: 'unchanged', object: live };
      if (dryRun) return { manifest, action: 'configured', object: predicted };
      const updated = await step('updating', () => client.replace(kind, merged));
      return { manifest, action: 'configured', object: updated };
    } catch (err) {
      const cause = err instanceof ApplyStepError ? err.cause : err;
      const raced = cause instanceof ApiError && cause.httpStatus === 409;
      if (!raced || attempt >= CONFLICT_ATTEMPTS) throw err;
    }
  }
}

async function step<T>(name: ApplyStepError['step'], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new ApplyStepError(name, err);
  }
}

/** Consecutive runs of one kind (the input is sorted by kind in apply order). */
export function wavesByKind(manifests: readonly ManifestObject[]): ManifestObject[][] {
  const waves: ManifestObject[][] = [];
  for (const m of manifests) {
    const last = waves.at(-1);
    if (last && last[0].kind.kind === m.kind.kind) last.push(m);
    else waves.push([m]);
  }
  return waves;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs `work` on every item, at most `limit` at a time, and hands each result to `report` in the
 * items' order as soon as it and all before it are done. An exception from `report` stops the
 * rest: nothing new starts, the calls in flight finish, and the exception is thrown.
 */
export async function forEachConcurrently<I, T>(
  items: readonly I[],
  limit: number,
  work: (item: I) => Promise<T>,
  report: (item: I, result: Settled<T>) => void,
): Promise<void> {
  const results: Array<Settled<T> | undefined> = new Array(items.length);
  let started = 0;
  let reported = 0;
  let stopped: { error: unknown } | undefined;
  const flush = () => {
    while (!stopped && reported < items.length && results[reported]) {
      try {
        report(items[reported], results[reported]!);
      } catch (error) {
        stopped = { error };
      }
      reported++;
    }
  };
  const worker = async () => {
    while (!stopped && started < items.length) {
      const index = started++;
      results[index] = await work(items[index]).then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => ({ ok: false, error }),
      );
      flush();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (stopped) throw stopped.error;
}
