// What `holdfast server cleanup` removes from a host, and why the rest stays. Pure: from the objects
// the engine lists and what the control plane still needs.
//
// Holdfast's own objects (the holdfast.dev/managed-by label, or images in the holdfast/ repositories
// its builds tag) go when nothing needs them: stopped containers of Services no longer declared on
// the server, dangling images, images no container uses and no recent deployment's frozen input
// names (a rollback would need those), networks no container is attached to. Objects without the
// label go only with `all`; the build cache carries no labels, so it goes only with `all` too.
import { canonicalImageRef, parseImageRef } from '../deploy/image-ref.js';
import { LABELS, MANAGED_BY, ownerOf } from '../deploy/container-spec.js';

export type CleanupKind = 'container' | 'image' | 'network' | 'buildCache';

export interface HostContainer {
  id: string;
  /** Without the leading slash. */
  name: string;
  labels: Record<string, string>;
  /** Docker's state: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  /** The image ID it runs. */
  imageId: string;
  /** Bytes of its writable layer, when the engine reported it. */
  sizeRw?: number;
  /** Names of the networks it is attached to. */
  networks: string[];
}

export interface HostImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  labels: Record<string, string>;
  size: number;
  /** Bytes shared with other images (-1 when unknown): removing this one frees only the rest. */
  sharedSize: number;
}

export interface HostNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** local or swarm. */
  scope?: string;
}

export interface HostBuildCache {
  id: string;
  size: number;
  inUse: boolean;
  type?: string;
}

export interface HostObjects {
  containers: HostContainer[];
  images: HostImage[];
  networks: HostNetwork[];
  buildCache: HostBuildCache[];
}

export interface CleanupPolicy {
  /** Also objects without Holdfast's labels (and the build cache). */
  all: boolean;
  /** Images the frozen inputs of the kept deployments name: references and digests. */
  deployedImages: ReadonlyArray<{ image: string; imageDigest?: string }>;
  /** `project/environment/service` of every Service declared on this server. */
  declaredServices: ReadonlySet<string>;
  /** Only this Project's objects (by their project label; images also by their holdfast/PROJECT-… repository). */
  project?: string;
}

export interface CleanupItem {
  kind: CleanupKind;
  id: string;
  name: string;
  /** Bytes removing it frees (0 for networks). */
  size: number;
  reason: string;
}

export interface CleanupPlan {
  remove: CleanupItem[];
  /** Holdfast's objects that stay although nothing runs them, and why (the preview says so). */
  keep: CleanupItem[];
  totalBytes: number;
}

const STOPPED = new Set(['created', 'exited', 'dead']);
const PREDEFINED_NETWORKS = new Set(['bridge', 'host', 'none', 'docker_gwbridge', 'ingress']);
const KIND_ORDER: CleanupKind[] = ['container', 'image', 'network', 'buildCache'];

export function planCleanup(objects: HostObjects, policy: CleanupPolicy): CleanupPlan {
  const remove: CleanupItem[] = [];
  const keep: CleanupItem[] = [];

  const removedContainers = new Set<string>();
  const inProject = (labels: Record<string, string>) => policy.project === undefined || labels[LABELS.project] === policy.project;
  for (const c of objects.containers) {
    const owned = c.labels[LABELS.managedBy] === MANAGED_BY;
    if (!owned && !policy.all) continue;
    if (!inProject(c.labels)) continue;
    if (!STOPPED.has(c.state)) continue;
    const owner = ownerOf(c.labels);
    const item = { kind: 'container' as const, id: c.id, name: c.name, size: c.sizeRw ?? 0 };
    if (owner && policy.declaredServices.has(`${owner.project}/${owner.environment}/${owner.service}`)) {
      keep.push({ ...item, reason: `stopped, but service ${owner.project}/${owner.service} still declares it on this server` });
      continue;
    }
    removedContainers.add(c.id);
    remove.push({ ...item, reason: owner ? `stopped; service ${owner.project}/${owner.service} no longer runs here` : owned ? 'stopped' : 'stopped (not Holdfast\'s: --all)' });
  }

  const remaining = objects.containers.filter((c) => !removedContainers.has(c.id));
  const imagesInUse = new Set(remaining.map((c) => c.imageId));
  for (const image of objects.images) {
    const dangling = image.repoTags.filter((t) => t !== '<none>:<none>').length === 0;
    const owned = isHoldfastImage(image);
    if (!owned && !policy.all) continue;
    if (policy.project !== undefined && !inProject(image.labels) && !imageOfProject(image, policy.project)) continue;
    const name = dangling ? image.id.replace(/^sha256:/, '').slice(0, 12) : image.repoTags.join(', ');
    const size = Math.max(0, image.size - Math.max(0, image.sharedSize));
    if (imagesInUse.has(image.id)) continue;
    const item = { kind: 'image' as const, id: image.id, name, size };
    if (policy.deployedImages.some((d) => deployedAs(image, d))) {
      keep.push({ ...item, reason: 'a recent deployment runs it: a rollback would need it' });
      continue;
    }
    const whose = owned ? '' : ' (not Holdfast\'s: --all)';
    remove.push({ ...item, reason: (dangling ? 'dangling' : 'no container uses it and no recent deployment names it') + whose });
  }

  const attached = new Set(remaining.flatMap((c) => c.networks));
  for (const network of objects.networks) {
    if (PREDEFINED_NETWORKS.has(network.name) || network.scope === 'swarm') continue;
    const owned = network.labels[LABELS.managedBy] === MANAGED_BY;
    if (!owned && !policy.all) continue;
    if (!inProject(network.labels)) continue;
    if (attached.has(network.name) || attached.has(network.id)) continue;
    remove.push({ kind: 'network', id: network.id, name: network.name, size: 0, reason: owned ? 'no container is attached' : 'no container is attached (not Holdfast\'s: --all)' });
  }

  if (policy.all && policy.project === undefined) {
    for (const record of objects.buildCache) {
      if (record.inUse) continue;
      remove.push({ kind: 'buildCache', id: record.id, name: record.type ? `${record.type} ${record.id.slice(0, 12)}` : record.id.slice(0, 12), size: record.size, reason: 'build cache not in use (it carries no labels: --all)' });
    }
  }

  const order = (a: CleanupItem, b: CleanupItem) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  remove.sort(order);
  keep.sort(order);
  return { remove, keep, totalBytes: remove.reduce((sum, item) => sum + item.size, 0) };
}

/** A run against the preview it follows: only what both list goes; what is new is reported, not removed. */
export function againstPreview(plan: CleanupPlan, previewIds: readonly string[]): { remove: CleanupItem[]; notPreviewed: CleanupItem[]; noLongerEligible: string[] } {
  const previewed = new Set(previewIds);
  const planned = new Set(plan.remove.map((item) => item.id));
  return {
    remove: plan.remove.filter((item) => previewed.has(item.id)),
    notPreviewed: plan.remove.filter((item) => !previewed.has(item.id)),
    noLongerEligible: previewIds.filter((id) => !planned.has(id)),
  };
}

function isHoldfastImage(image: HostImage): boolean {
  if (image.labels[LABELS.managedBy] === MANAGED_BY) return true;
  const tags = image.repoTags.filter((t) => t !== '<none>:<none>');
  const names = tags.length > 0 ? tags : image.repoDigests;
  return names.length > 0 && names.every((t) => parseImageRef(t).path.startsWith('holdfast/'));
}

function imageOfProject(image: HostImage, project: string): boolean {
  const tags = image.repoTags.filter((t) => t !== '<none>:<none>');
  const names = tags.length > 0 ? tags : image.repoDigests;
  return names.length > 0 && names.every((t) => parseImageRef(t).path.startsWith(`holdfast/${project}-`));
}

function deployedAs(image: HostImage, deployed: { image: string; imageDigest?: string }): boolean {
  const digests = [image.id, ...image.repoDigests.map((d) => d.slice(d.indexOf('@') + 1))];
  const named = parseImageRef(deployed.image).digest;
  if ((deployed.imageDigest && digests.includes(deployed.imageDigest)) || (named && digests.includes(named))) return true;
  const wanted = canonicalImageRef(deployed.image);
  return image.repoTags.some((tag) => tag !== '<none>:<none>' && canonicalImageRef(tag) === wanted);
}
