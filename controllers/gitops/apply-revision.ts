// Applies one revision all or nothing. Every object goes through admission (the checks the API's
// create and update run) and a dry-run write before any real write; a problem anywhere names its
// file, document and field, and nothing is written. Then the objects are written in dependency
// order and what the previous inventory had and this revision lacks is pruned. An object someone
// changed since the source applied it is put back, or with driftPolicy report only reported.
import { applyRank } from '../../core/apply-order.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { HoldfastError } from '../../core/errors.js';
import { inventoryKey, pruneCandidates, pruneDisabled, sortInventory, type InventoryEntry } from '../../core/gitops/inventory.js';
import { changedFields, declarationDigest, driftAction, type ObjectDrift, type SourceDriftPolicy } from '../../core/gitops/source-drift.js';
import { objectKey, type Resource } from '../../core/resource.js';
import type { Admission, Admitted } from '../admission.js';
import { formatProblem, type ManifestObject, type ManifestProblem } from '../../manifests/load.js';
import type { ResourceStore, WriteContext } from '../../store/resource-store.js';

const CONFLICT_ATTEMPTS = 5;

export interface ApplyCounts {
  created: number;
  configured: number;
  pruned: number;
  unchanged: number;
}

export interface AppliedRevision {
  counts: ApplyCounts;
  inventory: InventoryEntry[];
  /** `namespace/name` of every Service the revision created or changed. */
  changedServices: string[];
  /** Objects someone changed since the source applied them, put back (driftPolicy heal). */
  reverted: ObjectDrift[];
  /** Objects someone changed since the source applied them, left as they are (driftPolicy report). */
  drifted: ObjectDrift[];
}

/** A sync that wrote nothing: why (a CamelCase reason) and where. */
export class SyncFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    /** Trying the same revision again cannot help (invalid manifests); a new commit or spec can. */
    readonly stalled: boolean,
  ) {
    super(message);
    this.name = 'SyncFailure';
  }
}

export interface ApplyOptions {
  ctx: WriteContext;
  revision: string;
  previous: InventoryEntry[];
  prune: boolean;
  allowEmpty: boolean;
  driftPolicy: SourceDriftPolicy;
}

interface Planned {
  m: ManifestObject;
  current?: Resource;
  admitted: Admitted;
  action: 'create' | 'configure' | 'unchanged' | 'revert' | 'report';
  digest: string;
  /** For revert and report: who changed the object and what. */
  drift?: ObjectDrift;
}

export class RevisionApplier {
  constructor(
    private readonly store: ResourceStore,
    private readonly admission: (view: ResourceStore) => Admission,
  ) {}

  async apply(objects: ManifestObject[], opts: ApplyOptions): Promise<AppliedRevision> {
    const ordered = objects.map((m, i) => ({ m, i })).sort((a, b) => applyRank(a.m.kind.kind) - applyRank(b.m.kind.kind) || a.i - b.i).map(({ m }) => m);
    const toPrune = opts.prune ? pruneCandidates(opts.previous, ordered.map(({ object, kind }) => ({ kind: kind.kind, namespace: object.metadata.namespace, name: object.metadata.name }))) : [];
    if (ordered.length === 0 && toPrune.length > 0 && !opts.allowEmpty) {
      throw new SyncFailure(
        'PruneRefused',
        `the revision has no manifests under spec.path, so applying it would prune all ${toPrune.length} object(s) the source applied; check spec.path, or set spec.allowEmpty: true to accept an empty revision`,
        true,
      );
    }

    const planned = await this.check(ordered, opts);
    const pruning: Resource[] = [];
    for (const e of toPrune) {
      const current = await this.store.get(e.kind, e.namespace, e.name);
      if (current && !current.metadata.deletionTimestamp && !pruneDisabled(current.metadata.annotations)) pruning.push(current);
    }

    const counts: ApplyCounts = { created: 0, configured: 0, pruned: 0, unchanged: 0 };
    const changedServices: string[] = [];
    const inventory: InventoryEntry[] = [];
    const reverted: ObjectDrift[] = [];
    const drifted: ObjectDrift[] = [];
    const previousRevision = new Map(opts.previous.map((e) => [inventoryKey(e), e.revision]));
    for (const p of planned) {
      const { object } = p.admitted;
      const entry = { kind: object.kind, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}), name: object.metadata.name, digest: p.digest };
      if (p.action === 'report') {
        counts.unchanged++;
        drifted.push(p.drift!);
        inventory.push({ ...entry, revision: previousRevision.get(inventoryKey(entry)) ?? opts.revision });
        continue;
      }
      try {
        await this.write(p, opts.ctx);
      } catch (err) {
        // Another writer got in between the check and the write: what was written stays in the
        // inventory (so a later revision can prune it) and the sync is tried again.
        const written = new Set(inventory.map(inventoryKey));
        throw new PartialApply(`${describe(p.m)}: ${(err as Error).message}`, [...inventory, ...opts.previous.filter((e) => !written.has(inventoryKey(e)))]);
      }
      if (p.action === 'unchanged') counts.unchanged++;
      else {
        counts[p.action === 'create' ? 'created' : 'configured']++;
        if (p.action === 'revert') reverted.push(p.drift!);
        if (object.kind === 'Service') changedServices.push(objectKey(object.metadata));
      }
      const kept = p.action === 'unchanged' || p.action === 'revert';
      inventory.push({ ...entry, revision: kept ? previousRevision.get(inventoryKey(entry)) ?? opts.revision : opts.revision });
    }
    for (const obj of pruning) {
      await this.store.delete(obj.kind, obj.metadata.namespace, obj.metadata.name, opts.ctx).catch((err) => {
        if (!(err instanceof HoldfastError && err.reason === 'NotFound')) throw err;
      });
      counts.pruned++;
    }
    return { counts, inventory: sortInventory(inventory), changedServices, reverted, drifted };
  }

  /** Admission and a dry-run write of every object; throws one SyncFailure listing every problem. */
  private async check(ordered: ManifestObject[], opts: ApplyOptions): Promise<Planned[]> {
    const { ctx } = opts;
    const previous = new Map(opts.previous.map((e) => [inventoryKey(e), e]));
    // Admission looks objects up (the namespace's Project, referenced Servers and Secrets): it sees
    // the revision's own objects as if already written, so one revision can create a Project and
    // the Services in it.
    const inRevision = new Map(ordered.map((m) => [inventoryKey({ kind: m.kind.kind, namespace: m.object.metadata.namespace, name: m.object.metadata.name }), m.object]));
    const store = this.store;
    const view = Object.create(store, {
      get: { value: async (kind: string, namespace: string | undefined, name: string) => (await store.get(kind, namespace, name)) ?? inRevision.get(inventoryKey({ kind, namespace, name })) },
    }) as ResourceStore;
    const admission = this.admission(view);
    const problems: ManifestProblem[] = [];
    const planned: Planned[] = [];
    for (const m of ordered) {
      const { object, kind } = m;
      try {
        const current = await this.store.get(kind.kind, object.metadata.namespace, object.metadata.name);
        const admitted = await admission.admit(object, { info: kind, namespace: object.metadata.namespace, name: object.metadata.name }, current);
        const desired = admitted.object;
        desired.metadata = {
          name: object.metadata.name,
          ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
          ...(object.metadata.labels ? { labels: object.metadata.labels } : {}),
          ...(object.metadata.annotations ? { annotations: object.metadata.annotations } : {}),
          ...(current?.metadata.finalizers ? { finalizers: current.metadata.finalizers } : {}),
          ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}),
        };
        if (current?.metadata.deletionTimestamp) throw new HoldfastError('Conflict', `${kind.kind} "${object.metadata.name}" is being deleted; the revision applies once it is gone`);
        // Sealed values compare by the hashes the stored spec keeps (Secret valueHashes, SSHKey privateKeyHash).
        const p: Planned = { m, current, admitted, action: !current ? 'create' : sameDeclaration(desired, current) ? 'unchanged' : 'configure', digest: declarationDigest(desired) };
        if (current && p.action === 'configure') {
          const before = previous.get(inventoryKey({ kind: kind.kind, namespace: object.metadata.namespace, name: object.metadata.name }));
          const lastWriter = before ? await this.store.lastWriter(kind.kind, object.metadata.namespace, object.metadata.name) : undefined;
          p.action = driftAction({ previous: before, desiredDigest: p.digest, lastWriter, sourceActor: ctx.actor, policy: opts.driftPolicy });
          if (p.action !== 'configure') p.drift = { kind: kind.kind, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}), name: object.metadata.name, changedBy: lastWriter ?? 'unknown', fields: changedFields(desired, current) };
        }
        if (p.action !== 'unchanged' && p.action !== 'report') await this.write(p, { ...ctx, dryRun: true });
        planned.push(p);
      } catch (err) {
        const causes = err instanceof HoldfastError ? err.causes : [];
        if (causes.length) for (const c of causes) problems.push({ source: m.source, document: m.document, field: c.field, message: c.message });
        else problems.push({ source: m.source, document: m.document, message: err instanceof HoldfastError ? err.message : `unexpected error: ${(err as Error).message}` });
      }
    }
    if (problems.length) throw new SyncFailure('ValidationFailed', problems.map(formatProblem).join('\n'), true);
    return planned;
  }

  private async write(p: Planned, ctx: WriteContext): Promise<void> {
    const { object, sealed, status } = p.admitted;
    if (p.action === 'create') {
      await this.store.create(status ? { ...object, status } : object, ctx, sealed);
    } else if (p.action === 'configure' || p.action === 'revert') {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.store.replace(object, ctx, sealed, { status });
          return;
        } catch (err) {
          // A controller wrote the object (its status, a finalizer) since it was read: apply the
          // declaration to the new version, keeping the finalizers it now has.
          if (!(err instanceof HoldfastError && err.reason === 'Conflict') || attempt >= CONFLICT_ATTEMPTS) throw err;
          const fresh = await this.store.get(object.kind, object.metadata.namespace, object.metadata.name);
          if (!fresh) throw err;
          const { finalizers: _stale, ...meta } = object.metadata;
          object.metadata = { ...meta, resourceVersion: fresh.metadata.resourceVersion, ...(fresh.metadata.finalizers ? { finalizers: fresh.metadata.finalizers } : {}) };
        }
      }
    }
  }
}

/** A write failed after others of the revision went through: the inventory holds both. */
export class PartialApply extends Error {
  constructor(
    message: string,
    readonly inventory: InventoryEntry[],
  ) {
    super(message);
    this.name = 'PartialApply';
  }
}

function sameDeclaration(desired: Resource, current: Resource): boolean {
  return (
    canonicalJson(desired.spec ?? {}) === canonicalJson(current.spec ?? {}) &&
    canonicalJson(desired.metadata.labels ?? {}) === canonicalJson(current.metadata.labels ?? {}) &&
    canonicalJson(desired.metadata.annotations ?? {}) === canonicalJson(current.metadata.annotations ?? {})
  );
}

function describe(m: ManifestObject): string {
  return `${m.source}: document ${m.document}: ${m.kind.kind} "${m.object.metadata.name}"`;
}
