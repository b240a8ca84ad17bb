// Guarded deletes: a DELETE that would take more with it than its request named is refused with the
// list. A Project still holding objects, a Server that Services still target, and any object
// annotated holdfast.dev/delete-protection: "true" are kept until the request says it means it
// (DeleteOptions propagationPolicy Foreground for a Project's contents, gracePeriodSeconds 0 to force
// a Server), names the contents it deletes as well, or the protection is removed.
import { HoldfastError, type FieldCause } from '../core/errors.js';
import { KINDS, type AnyResource, type KindInfo, type Resource } from '../core/resource.js';
import type { ResourceStore } from '../store/resource-store.js';

export const DELETE_PROTECTION = 'holdfast.dev/delete-protection';

/** Kubernetes DeleteOptions, with the objects the same client deletes along (`holdfast delete -f`). */
export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  /** `Foreground` deletes a Project with everything in it (`holdfast delete --cascade`). */
  propagationPolicy?: string;
  /** 0 deletes a Server that Services still target (`holdfast delete --force`). */
  gracePeriodSeconds?: number;
  /** Objects of the Project this client deletes too: `{kind, name}`. */
  alsoDeleting?: Array<{ kind?: string; name?: string }>;
}

const CAUSES_LISTED = 50;

export function deleteOptionsOf(body: unknown): DeleteOptions {
  if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new HoldfastError('BadRequest', 'the body of a DELETE must be DeleteOptions (a JSON object)');
  const options = body as DeleteOptions;
  if (options.alsoDeleting !== undefined && !Array.isArray(options.alsoDeleting)) throw new HoldfastError('BadRequest', 'DeleteOptions alsoDeleting must be a list of {kind, name}');
  return options;
}

/** Throws when the delete must not go ahead; returns otherwise. Dry runs are guarded alike. */
export async function guardDelete(store: ResourceStore, info: KindInfo, namespace: string | undefined, name: string, options: DeleteOptions): Promise<void> {
  const object = await store.mustGet(info.kind, namespace, name);
  if (object.metadata.deletionTimestamp) return;
  if (isProtected(object)) {
    throw new HoldfastError('Forbidden', `${ref(object)} is protected by the annotation ${DELETE_PROTECTION}: "true"; remove it to delete the ${info.singular}`, {
      details: { kind: info.kind, name },
    });
  }
  if (info.kind === 'Project') return guardProject(store, object, options);
  if (info.kind === 'Server' && options.gracePeriodSeconds !== 0) {
    const users = (await store.list('Service')).items.filter((s) => (s.spec as { server?: string })?.server === name && !s.metadata.deletionTimestamp);
    if (users.length > 0) {
      throw refusal('Conflict', `server ${name} is still the target of ${users.length} service(s): ${list(users, qualified)}; delete them or move them to another server first, or pass --force (their containers then stay on the host)`, info, name, users, 'ServerInUse');
    }
  }
}

async function guardProject(store: ResourceStore, project: Resource, options: DeleteOptions) {
  const name = project.metadata.name;
  const contents: Resource[] = [];
  for (const kind of KINDS.filter((k) => k.namespaced && k.hasSpec)) {
    contents.push(...(await store.list(kind.kind, { namespace: name })).items.filter((o) => !o.metadata.deletionTimestamp));
  }
  const info = { kind: 'Project', singular: 'project' } as KindInfo;
  if (options.propagationPolicy === 'Foreground') {
    const protectedOnes = contents.filter(isProtected);
    if (protectedOnes.length > 0) {
      throw refusal('Forbidden', `project ${name} holds objects protected by ${DELETE_PROTECTION}: ${list(protectedOnes)}; remove the annotation to delete them with the project`, info, name, protectedOnes, 'DeleteProtected');
    }
    return;
  }
  const named = new Set((options.alsoDeleting ?? []).map((o) => `${o.kind}/${o.name}`));
  const left = contents.filter((o) => !named.has(`${o.kind}/${o.metadata.name}`));
  if (left.length > 0) {
    throw refusal('Conflict', `project ${name} still holds ${left.length} object(s) this request does not delete: ${list(left)}; delete them first, or delete the project with --cascade to delete everything in it`, info, name, left, 'ObjectInProject');
  }
}

function isProtected(object: Resource): boolean {
  return object.metadata.annotations?.[DELETE_PROTECTION] === 'true';
}

function refusal(reason: 'Conflict' | 'Forbidden', message: string, info: Pick<KindInfo, 'kind'>, name: string, objects: AnyResource[], cause: string): HoldfastError {
  const causes: FieldCause[] = objects.slice(0, CAUSES_LISTED).map((o) => ({ field: qualified(o), message: `${ref(o)}${o.metadata.namespace ? ` in project ${o.metadata.namespace}` : ''}`, reason: cause }));
  return new HoldfastError(reason, message, { causes, details: { kind: info.kind, name } });
}

function list(objects: AnyResource[], name: (o: AnyResource) => string = ref): string {
  const shown = objects.slice(0, 10).map(name).join(', ');
  return objects.length > 10 ? `${shown} and ${objects.length - 10} more` : shown;
}

const ref = (o: AnyResource) => `${o.kind.toLowerCase()}/${o.metadata.name}`;
/** With its project, for lists that span projects. */
const qualified = (o: AnyResource) => `${o.kind.toLowerCase()}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
