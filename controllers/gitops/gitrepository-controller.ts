// The GitRepository controller. reconcile(namespace/name) asks the remote which commit the ref names
// (one ls-remote: an idle poll costs no more), checks that commit out in the URL's cache, reads every
// manifest under spec.path and applies the revision all or nothing (apply-revision.ts), then records
// the sync on status and in the event timeline. With spec.wait the sync then waits for the Services
// the revision changed, without holding a worker: later reconciles judge the gate until it passes,
// or roll them back if one fails (health-gate.ts). Each interval applies the revision again, so an
// object the source applied and someone changed is put back.
import { canonicalJson } from '../../core/canonical-json.js';
import { HoldfastError } from '../../core/errors.js';
import { dependencyKeys, dependencyWait, sourceFacts, type SourceFacts } from '../../core/gitops/dependencies.js';
import { servicesChangedBy } from '../../core/gitops/health-gate.js';
import { allowedSigners, pgpPublicKeys } from '../../core/gitops/signers.js';
import type { InventoryEntry } from '../../core/gitops/inventory.js';
import { describeDrift } from '../../core/gitops/source-drift.js';
import { syncWindowState, type SyncWindow, type WindowState } from '../../core/gitops/sync-windows.js';
import { RECONCILE_REQUESTED_AT, RECONCILE_REQUESTED_BY, statusAfterSync, statusHealthCheckPending, statusSuspended, statusSyncing, statusWaitingForDependencies, statusWindowDenied, statusWindowsInvalid, syncRequestAnnotations, syncTrigger, syncWindowStatus, type SyncFailureInfo, type SyncTrigger } from '../../core/gitops/sync-status.js';
import type { GitRepository, GitRepositoryStatus } from '../../core/schema/types.generated.js';
import { ManifestError } from '../../manifests/load.js';
import type { Logger } from '../../observability/logger.js';
import { ageIdentities } from '../../security/age-keys.js';
import { parsePositiveDuration } from '../../core/duration.js';
import { Redactor } from '../../security/redactor.js';
import type { Sealer } from '../../security/sealing.js';
import { openSealedValue } from '../../security/secret-values.js';
import { decryptSops, SopsError } from '../../security/sops.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import { PartialApply, RevisionApplier, SyncFailure, type AppliedRevision } from './apply-revision.js';
import { GitCheckouts, type GitCredentials, type TrustedSigners } from './git-checkout.js';
import { HealthCheckFailed, type GatedService, type HealthGate } from './health-gate.js';
import { LocalRepositoryWatchers } from './local-watcher.js';
import { readRevisionManifests } from './revision-manifests.js';

/** How soon a source waiting for its dependencies looks again, besides being woken by their changes. */
const DEPENDENCY_RETRY_MS = 15_000;
/** Writes of a sync request that meet another writer before giving up. */
const REQUEST_WRITE_ATTEMPTS = 5;
/** How soon a waiting health gate is judged again, besides being woken by its Services' changes. */
const GATE_RECHECK_MS = 5_000;

/** One sync: what its record and status report when it ends. */
interface SyncRun {
  trigger: SyncTrigger;
  started: Date;
  generation: number;
  /** The reconcile-requested-at annotation the sync answers. */
  requestedAt?: string;
  syncWindow: GitRepositoryStatus['syncWindow'];
  revision?: string;
  commitMessage?: string;
  /** Values decrypted from SOPS files: masked in whatever this sync reports. */
  revealed: Redactor;
}

/** A revision applied with spec.wait whose Services are not all Ready yet. */
interface WaitingGate {
  run: SyncRun & { revision: string };
  applied: AppliedRevision;
  gated: GatedService[];
  timeoutMs: number;
  deadline: number;
}

export interface GitRepositoryControllerDeps {
  store: ResourceStore;
  sealer: Sealer;
  applier: RevisionApplier;
  checkouts: GitCheckouts;
  gate: HealthGate;
  events: EventRecorder;
  log: Logger;
  enqueue: (key: string) => void;
  /** Whether this replica runs the syncs now: its controllers run and it holds the GitOps Lease (if replicas share one). */
  runsSyncs: () => boolean;
  clock?: () => Date;
}

export class GitRepositoryController implements Reconciler {
  readonly kind = 'GitRepository';
  readonly name = 'gitrepository';
  /** Triggers in this process (a webhook, a file watcher) waiting for the sync they asked for. */
  private readonly pending = new Map<string, SyncTrigger>();
  /** When each source last synced: a reconcile for a status write or a resync waits for the interval. */
  private readonly lastSync = new Map<string, number>();
  /**
   * Syncs waiting on their health gate, by source. Rebuilt after a restart or a lease move: the new
   * holder syncs the revision again (status shows it attempted, not applied) and gates it anew.
   */
  private readonly gates = new Map<string, WaitingGate>();
  private readonly clock: () => Date;

  private readonly watchers = new LocalRepositoryWatchers((key) =>
    this.requestSync(key, 'watch', 'system:gitops:watcher').catch((err: unknown) => this.deps.log.warn({ gitRepository: key, err: (err as Error).message }, 'recording a sync request failed')),
  );

  constructor(private readonly deps: GitRepositoryControllerDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async stop(): Promise<void> {
    await this.watchers.stopAll();
  }

  /**
   * Asks for a sync of `namespace/name` now, recorded with `trigger`. Where this replica does not run
   * the syncs (another one holds the GitOps Lease), the request is written on the GitRepository, as
   * `holdfast reconcile` writes it, and the replica that does hears it through the change feed.
   */
  async requestSync(key: string, trigger: 'webhook' | 'watch', actor: string): Promise<void> {
    if (this.deps.runsSyncs()) {
      this.pending.set(key, trigger);
      this.deps.enqueue(key);
      return;
    }
    const [namespace, name] = key.split('/');
    for (let attempt = 1; ; attempt++) {
      const repo = await this.deps.store.get('GitRepository', namespace, name);
      if (!repo) return;
      const annotations = { ...repo.metadata.annotations, ...syncRequestAnnotations(trigger, this.clock()) };
      try {
        await this.deps.store.replace({ ...repo, metadata: { ...repo.metadata, annotations } }, { actor, skipAudit: true });
        return;
      } catch (err) {
        if (!(err instanceof HoldfastError && err.reason === 'Conflict') || attempt >= REQUEST_WRITE_ATTEMPTS) throw err;
      }
    }
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/');
    const repo = (await this.deps.store.get('GitRepository', namespace, name)) as GitRepository | undefined;
    if (!repo || repo.metadata.deletionTimestamp || repo.spec?.suspend) {
      await this.watchers.stop(key);
      this.gates.delete(key);
    }
    if (!repo || repo.metadata.deletionTimestamp) {
      this.lastSync.delete(key);
      return;
    }
    const spec = repo.spec!;
    const generation = repo.metadata.generation ?? 0;
    const intervalMs = parsePositiveDuration(spec.interval, 'spec.interval');
    if (spec.suspend) {
      await this.writeStatus(repo, statusSuspended(repo.status, generation, this.clock()));
      return;
    }
    await this.watchers.ensure(key, spec.url);
    const waiting = this.gates.get(key);
    if (waiting) {
      // A gate left from before a lost and regained lease, or overtaken by another replica's sync, is dropped.
      if (repo.status?.lastAttemptedRevision === waiting.run.revision && repo.status?.lastAppliedRevision !== waiting.run.revision) return this.judgeGate(key, repo, waiting, signal);
      this.gates.delete(key);
    }
    const pending = this.pending.get(key);
    this.pending.delete(key);
    const requestedAt = repo.metadata.annotations?.[RECONCILE_REQUESTED_AT];
    const requestedBy = repo.metadata.annotations?.[RECONCILE_REQUESTED_BY];
    const started = this.clock();
    const timeoutMs = parsePositiveDuration(spec.timeout, 'spec.timeout');
    const trigger: SyncTrigger = syncTrigger({ pending, requestedAt, requestedBy, status: repo.status, generation, revision: '' }) ?? 'interval';
    const sinceLast = started.getTime() - (this.lastSync.get(key) ?? Number.NEGATIVE_INFINITY);
    if (trigger === 'interval' && sinceLast < intervalMs) return { requeueAfterMs: intervalMs - sinceLast };
    let window: WindowState;
    try {
      window = syncWindowState((spec.windows ?? []) as SyncWindow[], started);
    } catch (err) {
      if (!(err instanceof HoldfastError)) throw err;
      await this.writeStatus(repo, statusWindowsInvalid(repo.status, err.message, generation, started));
      return;
    }
    if (window.denied && trigger !== 'manual') {
      await this.writeStatus(repo, statusWindowDenied(repo.status, window.closesAt, generation, started));
      return { requeueAfterMs: Math.min(intervalMs, window.closesAt.getTime() - started.getTime()) };
    }
    const syncWindow = syncWindowStatus(window, Boolean(spec.windows?.length));
    if (spec.dependsOn?.length) {
      const wait = dependencyWait(key, await this.sources());
      if (wait.state !== 'ready') {
        // Nothing fetched: the sync happens when the dependencies are Ready (their status changes wake this one).
        this.lastSync.delete(key);
        if (pending) this.pending.set(key, pending);
        await this.writeStatus(repo, statusWaitingForDependencies(repo.status, { message: wait.message, cycle: wait.state === 'cycle' }, generation, started));
        return { requeueAfterMs: wait.state === 'cycle' ? intervalMs : DEPENDENCY_RETRY_MS };
      }
    }
    this.lastSync.set(key, started.getTime());
    const run: SyncRun = { trigger, started, generation, requestedAt, syncWindow, revealed: new Redactor() };
    try {
      const credentials = await this.credentials(repo);
      const decrypt = spec.decryption ? await this.sopsDecrypter(repo, run.revealed) : undefined;
      const signers = spec.verify ? await this.trustedSigners(repo) : undefined;
      const req = { url: spec.url, ref: spec.ref, credentials, timeoutMs, signal };
      const resolved = await this.deps.checkouts.resolve(req);
      const revision = resolved.revision;
      run.revision = revision;
      const next = syncTrigger({ pending, requestedAt, requestedBy, status: repo.status, generation, revision });
      if (!next) return { requeueAfterMs: intervalMs };
      run.trigger = next;
      if (revision !== repo.status?.lastAppliedRevision) await this.writeStatus(repo, statusSyncing(repo.status, revision, generation, started));
      const applied = await this.deps.checkouts.withCheckout(req, resolved, async (tree) => {
        run.commitMessage = tree.message;
        if (signers) {
          const why = await this.deps.checkouts.unverifiedCommit(tree, signers, req);
          if (why) throw new SyncFailure('VerificationFailed', `commit ${tree.commit} is refused: ${why}; spec.verify trusts only the keys of Secret "${namespace}/${spec.verify!.secretRef.name}"`, true);
        }
        const objects = await readRevisionManifests(tree.dir, spec.path, { namespace, ignore: spec.ignore, allowMissingPath: spec.allowEmpty, decrypt });
        return this.deps.applier.apply(objects, {
          ctx: { actor: `system:gitops:${key}` },
          revision: resolved.revision,
          previous: (repo.status?.inventory ?? []) as InventoryEntry[],
          prune: spec.prune,
          allowEmpty: spec.allowEmpty,
          driftPolicy: spec.driftPolicy ?? 'heal',
        });
      });
      // A revision passes the gate once: the interval's re-apply of it does not judge it again.
      if (spec.wait && repo.status?.lastAppliedRevision !== revision) {
        const gated = await this.deps.gate.gated(servicesChangedBy(applied.inventory, revision));
        if (gated.length) {
          // The sync goes on without a worker: status changes of the gated Services (and a look
          // every few seconds) bring the source back to judgeGate, which ends it.
          this.gates.set(key, { run: { ...run, revision }, applied, gated, timeoutMs, deadline: this.clock().getTime() + timeoutMs });
          await this.writeStatus(repo, statusHealthCheckPending(repo.status, { revision, services: gated.length, timeoutMs, inventory: applied.inventory }, generation, this.clock()));
          return { requeueAfterMs: GATE_RECHECK_MS };
        }
      }
      await this.recordApplied(repo, run, applied);
    } catch (err) {
      await this.recordFailed(repo, run, err);
    }
    return { requeueAfterMs: intervalMs };
  }

  /** The keys of the sources whose waiting health gate includes the Service `namespace/name`. */
  gatesWaitingOn(namespace: string, name: string): string[] {
    return [...this.gates].filter(([, g]) => g.gated.some((s) => s.namespace === namespace && s.name === name)).map(([key]) => key);
  }

  /**
   * Judges a waiting health gate once. While its Services are on their way, looks again soon; when
   * all are Ready the sync ends applied; when one failed or the timeout passed, every Service the
   * revision changed is rolled back and the sync ends failed.
   */
  private async judgeGate(key: string, repo: GitRepository, gate: WaitingGate, signal: AbortSignal): Promise<ReconcileResult> {
    const now = this.clock().getTime();
    const outcome = await this.deps.gate.judge(gate.gated, gate.deadline, gate.timeoutMs, now);
    if (outcome.state === 'pending') return { requeueAfterMs: Math.max(0, Math.min(GATE_RECHECK_MS, gate.deadline - now)) };
    this.gates.delete(key);
    try {
      if (outcome.state === 'failed') {
        const undone = await this.deps.gate.rollBack(gate.gated, `system:gitops:${key}`, signal);
        throw new HealthCheckFailed(`health check failed: ${outcome.problems.join('; ')}. Rolled back every Service the revision changed: ${undone.join('; ')}`, gate.applied.inventory);
      }
      await this.recordApplied(repo, gate.run, gate.applied);
    } catch (err) {
      await this.recordFailed(repo, gate.run, err);
    }
    // What asked for a sync while the gate waited (a push, a request, a new spec) is looked at now.
    return { requeueAfterMs: 0 };
  }

  /** Ends a sync whose revision was applied in full: status, events and a log line. */
  private async recordApplied(repo: GitRepository, run: SyncRun, applied: AppliedRevision): Promise<void> {
    const key = `${repo.metadata.namespace}/${repo.metadata.name}`;
    const { trigger, revision } = run;
    const { counts } = applied;
    const changed = counts.created + counts.configured + counts.pruned > 0;
    const record = { trigger, revision, commitMessage: run.commitMessage, startTime: run.started.toISOString(), durationMs: this.clock().getTime() - run.started.getTime(), result: changed ? ('Applied' as const) : ('Unchanged' as const), ...counts };
    const reported = new Set((repo.status?.drift ?? []).map((d) => canonicalJson(d)));
    await this.writeStatus(repo, { ...statusAfterSync(repo.status, { record, generation: run.generation, handledReconcileAt: run.requestedAt, inventory: applied.inventory, drift: applied.drifted }, this.clock()), syncWindow: run.syncWindow });
    for (const d of applied.reverted) await this.deps.events.record(repo, 'Warning', 'DriftReverted', `${describeDrift(d)}: put back as revision ${revision} declares it`);
    for (const d of applied.drifted.filter((d) => !reported.has(canonicalJson(d)))) {
      await this.deps.events.record(repo, 'Warning', 'DriftDetected', `${describeDrift(d)}: left as it is (spec.driftPolicy: report)`);
    }
    if (changed || (trigger !== 'interval' && trigger !== 'watch')) {
      const what = `${counts.created} created, ${counts.configured} configured, ${counts.pruned} pruned, ${counts.unchanged} unchanged`;
      await this.deps.events.record(repo, 'Normal', changed ? 'RevisionApplied' : 'RevisionUnchanged', `revision ${revision} (${trigger}): ${what}`);
    }
    this.deps.log.info({ gitRepository: key, revision, trigger, ...counts }, changed ? 'revision applied' : 'revision unchanged');
  }

  /** Ends a sync that failed: status (naming why, secrets masked), an event and a log line. */
  private async recordFailed(repo: GitRepository, run: SyncRun, err: unknown): Promise<void> {
    const key = `${repo.metadata.namespace}/${repo.metadata.name}`;
    const { trigger, revision, commitMessage } = run;
    const described = describeFailure(err);
    const failure = { ...described, message: run.revealed.redactText(described.message) };
    const record = { trigger, ...(revision ? { revision } : {}), ...(commitMessage ? { commitMessage } : {}), startTime: run.started.toISOString(), durationMs: this.clock().getTime() - run.started.getTime(), result: 'Failed' as const, error: failure.message.slice(0, 32768) };
    const inventory = err instanceof PartialApply || err instanceof HealthCheckFailed ? err.inventory : undefined;
    await this.writeStatus(repo, { ...statusAfterSync(repo.status, { record, generation: run.generation, handledReconcileAt: run.requestedAt, failure, inventory }, this.clock()), syncWindow: run.syncWindow });
    await this.deps.events.record(repo, 'Warning', failure.reason, revision ? `revision ${revision}: ${failure.message}` : failure.message);
    this.deps.log.warn({ gitRepository: key, revision, trigger, reason: failure.reason, err: failure.message }, 'sync failed');
  }

  /** The keys of the GitRepositories that depend on `key`: a change of its status may let them sync. */
  async dependentsOf(key: string): Promise<string[]> {
    const { items } = await this.deps.store.list('GitRepository');
    return items.filter((r) => dependencyKeys(r).includes(key)).map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
  }

  private async sources(): Promise<Map<string, SourceFacts>> {
    const { items } = await this.deps.store.list('GitRepository');
    return new Map(items.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, sourceFacts(r)]));
  }

  private async credentials(repo: GitRepository): Promise<GitCredentials> {
    const spec = repo.spec!;
    const namespace = repo.metadata.namespace!;
    if (/^https?:\/\/[^/]*@/.test(spec.url)) {
      throw new SyncFailure('CredentialsInURL', 'spec.url must not carry credentials: put the token in a Secret (keys password or token, optional username) and name it in spec.secretRef', true);
    }
    if (spec.url.startsWith('ssh://')) {
      if (!spec.sshKeyRef || !spec.knownHosts) {
        throw new SyncFailure('CredentialsMissing', 'an ssh:// repository needs spec.sshKeyRef (the SSHKey that reads it) and spec.knownHosts (its pinned host key, as ssh-keyscan prints it)', true);
      }
      const privateKey = await openSealedValue(this.deps.store, this.deps.sealer, 'SSHKey', undefined, spec.sshKeyRef.name, 'privateKey');
      return { kind: 'ssh', privateKey, knownHosts: spec.knownHosts };
    }
    if (spec.secretRef) {
      const secret = await this.deps.store.get('Secret', namespace, spec.secretRef.name);
      const keys = ((secret?.status as { keys?: string[] } | undefined)?.keys ?? []) as string[];
      const passwordKey = keys.includes('password') ? 'password' : 'token';
      const password = await openSealedValue(this.deps.store, this.deps.sealer, 'Secret', namespace, spec.secretRef.name, passwordKey);
      const username = keys.includes('username') ? await openSealedValue(this.deps.store, this.deps.sealer, 'Secret', namespace, spec.secretRef.name, 'username') : 'git';
      return { kind: 'https', username, password };
    }
    return { kind: 'none' };
  }

  /** The keys of spec.verify's Secret: every SSH and OpenPGP public key in any of its values. */
  private async trustedSigners(repo: GitRepository): Promise<TrustedSigners> {
    const namespace = repo.metadata.namespace!;
    const { name } = repo.spec!.verify!.secretRef;
    const secret = await this.deps.store.get('Secret', namespace, name);
    if (!secret) throw new SyncFailure('VerificationFailed', `spec.verify.secretRef: Secret "${namespace}/${name}" not found`, false);
    const values: string[] = [];
    for (const key of ((secret.status as { keys?: string[] } | undefined)?.keys ?? []) as string[]) values.push(await openSealedValue(this.deps.store, this.deps.sealer, 'Secret', namespace, name, key));
    const ssh = allowedSigners(values);
    const pgpKeys = pgpPublicKeys(values);
    if (!ssh.keys && !pgpKeys.length) {
      throw new SyncFailure(
        'VerificationFailed',
        `spec.verify.secretRef: Secret "${namespace}/${name}" holds no public key: SSH keys as ssh-keygen prints them (ssh-ed25519 AAAA…) or allowed_signers lines, or GPG keys as gpg --armor --export prints them`,
        false,
      );
    }
    return { allowedSigners: ssh.text, pgpKeys };
  }

  /**
   * Decrypts SOPS files with the age identities of spec.decryption's Secret (every key ending in
   * .agekey, as age-keygen writes them); each value it reveals is registered with `revealed`.
   */
  private async sopsDecrypter(repo: GitRepository, revealed: Redactor): Promise<(file: string, documents: unknown[]) => Promise<unknown[]>> {
    const namespace = repo.metadata.namespace!;
    const { name } = repo.spec!.decryption!.secretRef;
    const secret = await this.deps.store.get('Secret', namespace, name);
    if (!secret) throw new SyncFailure('DecryptionFailed', `spec.decryption.secretRef: Secret "${namespace}/${name}" not found`, false);
    const keys = (((secret.status as { keys?: string[] } | undefined)?.keys ?? []) as string[]).filter((k) => k.endsWith('.agekey'));
    const identities: string[] = [];
    for (const key of keys) identities.push(...ageIdentities(await openSealedValue(this.deps.store, this.deps.sealer, 'Secret', namespace, name, key)));
    if (!identities.length) {
      throw new SyncFailure('DecryptionFailed', `spec.decryption.secretRef: Secret "${namespace}/${name}" holds no age identity (AGE-SECRET-KEY-1…) under a key ending in .agekey, e.g. age.agekey`, false);
    }
    return async (file, documents) => {
      try {
        const clear = await decryptSops(documents, identities);
        for (const value of clear.revealed) revealed.register(value);
        return clear.documents;
      } catch (err) {
        if (err instanceof SopsError) throw new SyncFailure('DecryptionFailed', `${file}: cannot be decrypted with the age key of Secret "${namespace}/${name}": ${err.message}`, false);
        throw err;
      }
    };
  }

  /** Writes status when it says something new (an idle poll writes nothing). */
  private async writeStatus(repo: GitRepository, status: GitRepositoryStatus): Promise<void> {
    if (canonicalJson(status) === canonicalJson(repo.status ?? {})) return;
    const next = { ...repo, metadata: { ...repo.metadata, resourceVersion: undefined }, status };
    const written = await this.deps.store.replaceStatus(next, { actor: 'system:controller:gitrepository', skipAudit: true });
    repo.status = written.status as GitRepositoryStatus;
  }
}

function describeFailure(err: unknown): SyncFailureInfo {
  if (err instanceof SyncFailure) return { reason: err.reason, message: err.message, stalled: err.stalled };
  if (err instanceof ManifestError) return { reason: 'ValidationFailed', message: err.message, stalled: true };
  if (err instanceof PartialApply) return { reason: 'ApplyFailed', message: err.message, stalled: false };
  if (err instanceof HoldfastError) {
    const git = /^git /.test(err.message);
    return { reason: git ? 'GitOperationFailed' : err.reason === 'NotFound' ? 'NotFound' : 'SyncFailed', message: err.message, stalled: false };
  }
  return { reason: 'SyncFailed', message: (err as Error).message ?? String(err), stalled: false };
}
