// `holdfast delete -f PATH…` and `holdfast delete KIND NAME…`: prints what was deleted as kubectl
// does; objects with finalizers left are marked for deletion and go once their controllers finish,
// and --wait says what they still wait for. The API refuses a Project that holds objects the
// command does not delete (it names the ones it does), a Server that Services target (--force),
// and protected objects; --cascade deletes a Project with everything in it, after a confirmation.
import { HoldfastError } from '../../core/errors.js';
import { KINDS, type KindInfo, type Resource } from '../../core/resource.js';
import { ApiError, type DeleteOptions, type HoldfastClient } from '../client.js';
import { confirmDestructive } from '../confirm.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { formatServerError } from '../error-output.js';
import { loadManifests, skippedFileWarning, sortForDelete } from '../../manifests/load.js';
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
  /** Delete Projects with everything in them. */
  cascade?: boolean;
  /** Delete Servers even while Services target them. */
  force?: boolean;
  /** Do not ask before --cascade. */
  yes?: boolean;
}

const DEFAULT_WAIT_MS = 5 * 60_000;
/** While waiting, the same progress line is repeated at most this often. */
const PROGRESS_EVERY_MS = 10_000;

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
  if (flags.cascade && !(await confirmCascade(ctx, client, targets, flags, dryRun === 'server'))) {
    ctx.err('error: nothing deleted\n');
    return EXIT_ERROR;
  }
  let failed = false;
  const pending: Target[] = [];
  for (const t of targets) {
    try {
      const answer = await client.delete(t.kind, t.name, t.namespace, { dryRun: dryRun === 'server', options: deleteOptions(t, targets, flags) });
      ctx.out(`${kindQualifier(t.kind.kind)} "${t.name}" deleted${dryRunSuffix(dryRun)}\n`);
      if (dryRun === 'none' && (answer as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp) pending.push(t);
    } catch (err) {
      if (!(err instanceof ApiError) || err.httpStatus === 401) throw err;
      if (err.httpStatus === 404 && flags.ignoreNotFound) continue;
      failed = true;
      ctx.err(formatServerError(err));
    }
  }
  // Like kubectl: finalizers let controllers clean up first (containers on the hosts); wait for
  // that, saying what each object still waits for whenever it changes.
  if (pending.length && flags.wait !== false) {
    const deadline = Date.now() + (flags.timeoutMs ?? DEFAULT_WAIT_MS);
    const started = Date.now();
    for (const t of pending) {
      let said = '';
      let saidAt = 0;
      for (;;) {
        const still = await client.getIfExists(t.kind, t.name, t.namespace);
        if (!still) break;
        const waiting = await waitingFor(client, still);
        if (Date.now() > deadline) {
          ctx.err(`error: timed out waiting for ${kindQualifier(t.kind.kind)} "${t.name}" to be deleted: ${waiting}\n`);
          failed = true;
          break;
        }
        if (waiting !== said || Date.now() - saidAt >= PROGRESS_EVERY_MS) {
          // The same wait said again reads as progress with how long it has lasted.
          const sofar = waiting === said ? `; ${Math.round((Date.now() - started) / 1000)} s so far` : '';
          ctx.out(`${kindQualifier(t.kind.kind)} "${t.name}" terminating: ${waiting}${sofar}\n`);
          said = waiting;
          saidAt = Date.now();
        }
        await new Promise((ok) => setTimeout(ok, 500));
      }
    }
  }
  return failed ? EXIT_ERROR : EXIT_OK;
}

/** What the request says about the objects deleted along: a Project is told the contents this command deletes too. */
function deleteOptions(t: Target, targets: Target[], flags: DeleteFlags): DeleteOptions | undefined {
  if (t.kind.kind === 'Project') {
    if (flags.cascade) return { propagationPolicy: 'Foreground' };
    const alsoDeleting = targets.filter((o) => o.kind.namespaced && o.namespace === t.name).map((o) => ({ kind: o.kind.kind, name: o.name }));
    return alsoDeleting.length ? { alsoDeleting } : undefined;
  }
  if (t.kind.kind === 'Server' && flags.force) return { gracePeriodSeconds: 0 };
  return undefined;
}

/** Lists what --cascade deletes with each Project and asks (or needs --yes). */
async function confirmCascade(ctx: CommandContext, client: HoldfastClient, targets: Target[], flags: DeleteFlags, dryRun: boolean): Promise<boolean> {
  const projects = targets.filter((t) => t.kind.kind === 'Project');
  if (projects.length === 0) throw new HoldfastError('BadRequest', '--cascade applies to projects: name one, e.g. holdfast delete project shop --cascade');
  for (const p of projects) {
    const contents = await projectContents(client, p.name);
    ctx.out(`project "${p.name}" and everything in it will be deleted${contents.length ? ':' : ' (it holds nothing else)'}\n`);
    for (const o of contents) ctx.out(`  ${kindQualifier(o.kind)}/${o.metadata.name}\n`);
  }
  if (dryRun) return true;
  return confirmDestructive(`delete ${projects.map((p) => `project ${p.name}`).join(', ')} with everything in it`, { yes: flags.yes });
}

async function projectContents(client: HoldfastClient, project: string): Promise<Resource[]> {
  const out: Resource[] = [];
  for (const kind of KINDS.filter((k) => k.namespaced && k.hasSpec)) out.push(...(await client.listAll(kind, { namespace: project })).items);
  return out;
}

/** `waiting for: …`: the finalizers left, and for a Project or a Server the objects that hold it. */
async function waitingFor(client: HoldfastClient, obj: Resource): Promise<string> {
  const finalizers = obj.metadata.finalizers ?? [];
  let holders: string[] = [];
  if (obj.kind === 'Project') holders = (await projectContents(client, obj.metadata.name)).map((o) => `${kindQualifier(o.kind)}/${o.metadata.name}`);
  if (obj.kind === 'Server') {
    const services = await client.listAll(KINDS.find((k) => k.kind === 'Service')!);
    holders = services.items.filter((s) => (s.spec as { server?: string })?.server === obj.metadata.name).map((s) => `service/${s.metadata.namespace}/${s.metadata.name}`);
  }
  const shown = holders.length > 5 ? `${holders.slice(0, 5).join(', ')} and ${holders.length - 5} more` : holders.join(', ');
  return `waiting for ${finalizers.join(', ') || 'its controller'}${shown ? ` (${shown})` : ''}`;
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
