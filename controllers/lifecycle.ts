// Deletion order, Kubernetes-style, with finalizers: a Project being deleted deletes what is in it
// and goes once it is empty; a Server stays until no Service runs on it (their cleanup needs it); an
// SSHKey stays until no Server uses it. So `holdfast delete -f manifests/` ends clean whatever the
// order of the documents.
import type { AnyResource } from '../core/resource.js';
import type { ResourceStore } from '../store/resource-store.js';
import type { ChangeEvent } from '../store/resource-store.js';
import type { EventRecorder } from './events.js';
import type { Reconciler, ReconcileResult } from './manager.js';

export const IN_USE_FINALIZER = 'holdfast.dev/in-use';
export const PROJECT_FINALIZER = 'holdfast.dev/project-contents';
const ACTOR = { actor: 'system:controller:lifecycle', skipAudit: true };
const NAMESPACED_CONTENTS = ['GitRepository', 'ApplySet', 'BackupPolicy', 'Service', 'Secret'] as const;

async function setFinalizer(store: ResourceStore, obj: AnyResource, finalizer: string, present: boolean): Promise<void> {
  const has = obj.metadata.finalizers?.includes(finalizer) ?? false;
  if (has === present) return;
  const finalizers = present ? [...(obj.metadata.finalizers ?? []), finalizer] : (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  await store.replace({ ...obj, metadata: { ...obj.metadata, finalizers } }, ACTOR);
}

/**
 * Keeps `finalizer` on objects of `kind` while `usersOf` finds anything using them; once an object
 * is being deleted and nothing uses it, the finalizer goes and the object with it.
 */
export class InUseFinalizer implements Reconciler {
  get name(): string {
    return `${this.kind.toLowerCase()}-in-use`;
  }

  constructor(
    readonly kind: 'Server' | 'SSHKey',
    private readonly store: ResourceStore,
    private readonly events: EventRecorder,
    private readonly usersOf: (name: string) => Promise<AnyResource[]>,
  ) {}

  async reconcile(name: string): Promise<ReconcileResult> {
    const obj = await this.store.get(this.kind, undefined, name);
    if (!obj) return {};
    if (!obj.metadata.deletionTimestamp) {
      await setFinalizer(this.store, obj, IN_USE_FINALIZER, true);
      return {};
    }
    const users = await this.usersOf(name);
    if (users.length > 0) {
      const list = users.slice(0, 5).map((u) => `${u.kind.toLowerCase()}/${u.metadata.namespace ? `${u.metadata.namespace}/` : ''}${u.metadata.name}`).join(', ');
      await this.events.record(obj, 'Normal', 'WaitingForUsers', `deletion waits until nothing uses it: ${list}${users.length > 5 ? ` and ${users.length - 5} more` : ''}`);
      return { requeueAfterMs: 2000 };
    }
    await setFinalizer(this.store, obj, IN_USE_FINALIZER, false);
    return {};
  }
}

export const serverUsers = (store: ResourceStore) => async (server: string) =>
  (await store.list('Service')).items.filter((s) => (s.spec as { server?: string })?.server === server);

export const sshKeyUsers = (store: ResourceStore) => async (key: string) =>
  (await store.list('Server')).items.filter((s) => (s.spec as { sshKeyRef?: { name?: string } })?.sshKeyRef?.name === key);

/** A Project being deleted deletes its contents (Services first: their cleanup needs the rest). */
export class ProjectController implements Reconciler {
  readonly kind = 'Project';
  readonly name = 'project';

  constructor(
    private readonly store: ResourceStore,
    private readonly events: EventRecorder,
  ) {}

  async reconcile(name: string): Promise<ReconcileResult> {
    const project = await this.store.get('Project', undefined, name);
    if (!project) return {};
    if (!project.metadata.deletionTimestamp) {
      await setFinalizer(this.store, project, PROJECT_FINALIZER, true);
      return {};
    }
    let remaining = 0;
    for (const kind of NAMESPACED_CONTENTS) {
      const { items } = await this.store.list(kind, { namespace: name });
      remaining += items.length;
      for (const obj of items) {
        if (!obj.metadata.deletionTimestamp) await this.store.delete(kind, name, obj.metadata.name, ACTOR).catch(() => undefined);
      }
      // Secrets and policies wait until the Services that may use them are gone.
      if (kind === 'Service' && items.length > 0) break;
    }
    if (remaining > 0) {
      await this.events.record(project, 'Normal', 'DeletingContents', `deleting ${remaining} object(s) in project ${name}`);
      return { requeueAfterMs: 1000 };
    }
    for (const ev of (await this.store.list('Event', { namespace: name })).items) await this.store.delete('Event', name, ev.metadata.name, ACTOR).catch(() => undefined);
    await setFinalizer(this.store, project, PROJECT_FINALIZER, false);
    return {};
  }
}

/** Which lifecycle keys a change wakes: the user of something going away frees it. */
export function lifecycleKeys(kind: 'Server' | 'SSHKey' | 'Project', e: ChangeEvent): string[] {
  if (e.type !== 'DELETED') return [];
  const spec = e.object.spec as { server?: string; sshKeyRef?: { name?: string } } | undefined;
  if (kind === 'Server' && e.object.kind === 'Service' && spec?.server) return [spec.server];
  if (kind === 'SSHKey' && e.object.kind === 'Server' && spec?.sshKeyRef?.name) return [spec.sshKeyRef.name];
  if (kind === 'Project' && e.object.metadata.namespace && e.object.kind !== 'Event') return [e.object.metadata.namespace];
  return [];
}
