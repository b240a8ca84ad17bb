// Every object of a few kinds that change rarely and are read on almost every reconcile (the
// Service's Server, the Server's SSHKey, the Secrets a render hashes, the BackupPolicies a Service
// change may concern), held in memory and kept current by the store's change events, as a Kubernetes
// controller reads from its informer's cache. During a cold converge of 50 Services the controllers
// read the one Server about 630 times and its SSHKey 240 times, and listed a project's Secrets and
// BackupPolicies about 400 times; each was a query waiting in the embedded store's queue.
//
// A kind is listed once, on its first read; the changes heard meanwhile are applied after the list
// when they are newer than it. Reads may lag the store by as long as its change events take to
// arrive: on one control plane not at all (listeners hear a write before it returns), across replicas
// by the change feed's delay. Code that writes what it read reads the store itself.
import type { Resource } from '../core/resource.js';
import type { ResourceByKind } from '../core/schema/types.generated.js';
import type { ChangeEvent, ResourceStore } from './resource-store.js';

export type CachedKind = 'Server' | 'SSHKey' | 'Secret' | 'BackupPolicy';

interface HeldKind {
  objects: Map<string, Resource>;
  /** Until the first list has answered: the changes heard meanwhile. */
  pending?: ChangeEvent[];
  loaded?: Promise<void>;
}

export class ObjectCache {
  private readonly kinds = new Map<string, HeldKind>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ResourceStore,
    kinds: readonly CachedKind[],
  ) {
    for (const kind of kinds) this.kinds.set(kind, { objects: new Map() });
    this.unsubscribe = store.subscribe((e) => {
      const held = this.kinds.get(e.object.kind);
      if (!held?.loaded) return;
      if (held.pending) held.pending.push(e);
      else apply(held, e);
    });
  }

  /** The object as `store.get` would answer, or undefined when there is none. A copy: callers may change it. */
  async get<K extends CachedKind>(kind: K, namespace: string | undefined, name: string): Promise<ResourceByKind[K] | undefined> {
    const found = (await this.load(kind)).get(keyOf(namespace, name));
    return found && (structuredClone(found) as unknown as ResourceByKind[K]);
  }

  /** Every object of the kind (in `namespace`, when given), by namespace then name. Copies. */
  async list<K extends CachedKind>(kind: K, namespace?: string): Promise<Array<ResourceByKind[K]>> {
    const objects = [...(await this.load(kind)).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
    objects.sort((a, b) => byCodePoint(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || byCodePoint(a.metadata.name, b.metadata.name));
    return objects.map((o) => structuredClone(o) as unknown as ResourceByKind[K]);
  }

  close(): void {
    this.unsubscribe();
    this.kinds.clear();
  }

  private async load(kind: CachedKind): Promise<Map<string, Resource>> {
    const held = this.kinds.get(kind);
    if (!held) throw new Error(`ObjectCache: ${kind} is not one of the kinds it holds`);
    if (!held.loaded) {
      held.pending = [];
      held.loaded = (async () => {
        const listed = await this.store.list(kind as string);
        for (const object of listed.items) held.objects.set(keyOf(object.metadata.namespace, object.metadata.name), object);
        for (const e of held.pending!) if (e.resourceVersion > Number(listed.resourceVersion)) apply(held, e);
        held.pending = undefined;
      })();
      // A failed list (the store unreachable) is tried again by the next read.
      held.loaded.catch(() => {
        held.loaded = undefined;
        held.pending = undefined;
      });
    }
    await held.loaded;
    return held.objects;
  }
}

function apply(held: HeldKind, e: ChangeEvent): void {
  const key = keyOf(e.object.metadata.namespace, e.object.metadata.name);
  if (e.type === 'DELETED') held.objects.delete(key);
  else if (Number(held.objects.get(key)?.metadata.resourceVersion ?? 0) < e.resourceVersion) held.objects.set(key, structuredClone(e.object));
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

/** Plain code-point order: the same on every machine, whatever its locale. */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
