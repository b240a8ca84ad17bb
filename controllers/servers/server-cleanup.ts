// `holdfast server cleanup`: reads what a host holds (one /system/df and the network list over the
// kept session), plans with core/cleanup/cleanup-plan.ts against what the control plane still needs
// (the Services declared on the server, the images of their last deployments), and removes exactly
// what a preview listed. Objects are removed one by one without force: one the engine refuses
// (something started using it meanwhile) is reported and stays.
import { againstPreview, planCleanup, type CleanupItem, type CleanupPlan, type HostObjects } from '../../core/cleanup/cleanup-plan.js';
import { formatBytes } from '../../core/format-bytes.js';
import type { Server } from '../../core/schema/types.generated.js';
import type { DockerClient } from '../../hosts/index.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { ServerConnector } from './server-connector.js';

export interface CleanupOptions {
  /** Also objects without Holdfast's labels, and the build cache. */
  all: boolean;
  /** Images of this many latest deployments of every Service on the server are kept (rollbacks). */
  keepDeployments: number;
  /** Only this Project's objects. */
  project?: string;
}

export const DEFAULT_KEEP_DEPLOYMENTS = 5;

export interface CleanupResult {
  removed: CleanupItem[];
  failed: Array<CleanupItem & { error: string }>;
  /** Eligible now, but not in the preview: reported, not removed. */
  notPreviewed: CleanupItem[];
  /** In the preview, but no longer eligible (gone, or in use again): not removed. */
  noLongerEligible: string[];
  freedBytes: number;
}

const CALL_TIMEOUT_MS = 60_000;
const NAMES_IN_MESSAGE = 20;

export class ServerCleanup {
  constructor(private readonly deps: { store: ResourceStore; deployments: DeploymentStore; connector: ServerConnector }) {}

  async preview(server: Server, options: CleanupOptions, signal?: AbortSignal): Promise<CleanupPlan> {
    const docker = (await this.deps.connector.connectionFor(server)).docker;
    return this.#plan(server, docker, options, signal);
  }

  async run(server: Server, options: CleanupOptions, previewIds: readonly string[], signal?: AbortSignal): Promise<CleanupResult> {
    const docker = (await this.deps.connector.connectionFor(server)).docker;
    const plan = await this.#plan(server, docker, options, signal);
    const { remove, notPreviewed, noLongerEligible } = againstPreview(plan, previewIds);
    const removed: CleanupItem[] = [];
    const failed: CleanupResult['failed'] = [];
    const images = new Map((await docker.systemDf({ signal })).Images?.map((i) => [i.Id, i.RepoTags ?? []]) ?? []);
    for (const item of remove) {
      try {
        await removeOne(docker, item, images.get(item.id) ?? [], signal);
        removed.push(item);
      } catch (err) {
        failed.push({ ...item, error: (err as Error).message });
      }
    }
    return { removed, failed, notPreviewed, noLongerEligible, freedBytes: removed.reduce((sum, item) => sum + item.size, 0) };
  }

  async #plan(server: Server, docker: DockerClient, options: CleanupOptions, signal?: AbortSignal): Promise<CleanupPlan> {
    const call = { signal, timeoutMs: CALL_TIMEOUT_MS };
    const [df, networks, services] = await Promise.all([docker.systemDf(call), docker.listNetworks(undefined, call), this.deps.store.list('Service')]);
    const onServer = services.items.filter((s) => s.spec?.server === server.metadata.name);
    const deployedImages: Array<{ image: string; imageDigest?: string }> = [];
    for (const service of onServer) {
      const records = await this.deps.deployments.listForService(service.metadata.namespace!, service.metadata.name, options.keepDeployments);
      for (const record of records) {
        for (const c of record.frozen?.containers ?? []) deployedImages.push({ image: c.image, imageDigest: c.imageDigest });
      }
    }
    const objects: HostObjects = {
      containers: (df.Containers ?? []).map((c) => ({
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        labels: c.Labels ?? {},
        state: c.State ?? '',
        imageId: c.ImageID ?? '',
        sizeRw: c.SizeRw,
        networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
      })),
      images: (df.Images ?? []).map((i) => ({ id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [], labels: i.Labels ?? {}, size: i.Size, sharedSize: i.SharedSize })),
      networks: networks.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {}, scope: n.Scope })),
      buildCache: (df.BuildCache ?? []).map((b) => ({ id: b.ID, size: b.Size, inUse: b.InUse, type: b.Type })),
    };
    return planCleanup(objects, {
      all: options.all,
      project: options.project,
      deployedImages,
      declaredServices: new Set(onServer.map((s) => `${s.metadata.namespace}/${s.spec?.environment}/${s.metadata.name}`)),
    });
  }
}

/** One line for the audit row and the event: what went, what the engine refused, what was new since the preview. */
export function describeCleanupRun(result: CleanupResult, options: CleanupOptions): string {
  const names = (items: CleanupItem[]) =>
    items.slice(0, NAMES_IN_MESSAGE).map((i) => `${i.kind} ${i.name}`).join(', ') + (items.length > NAMES_IN_MESSAGE ? `, and ${items.length - NAMES_IN_MESSAGE} more` : '');
  const parts = [`removed ${result.removed.length} object${result.removed.length === 1 ? '' : 's'} (${formatBytes(result.freedBytes)})${result.removed.length ? `: ${names(result.removed)}` : ''}`];
  if (result.failed.length) parts.push(`${result.failed.length} refused by the engine: ${names(result.failed)}`);
  if (result.notPreviewed.length) parts.push(`${result.notPreviewed.length} new since the preview, kept: ${names(result.notPreviewed)}`);
  if (result.noLongerEligible.length) parts.push(`${result.noLongerEligible.length} of the preview no longer eligible, kept`);
  if (options.all) parts.push('with --all');
  if (options.project) parts.push(`project ${options.project} only`);
  return parts.join('; ');
}

async function removeOne(docker: DockerClient, item: CleanupItem, tags: string[], signal?: AbortSignal): Promise<void> {
  const call = { signal, timeoutMs: CALL_TIMEOUT_MS };
  switch (item.kind) {
    case 'container':
      return docker.removeContainer(item.id, {}, call);
    case 'image': {
      // An image under several names is removed name by name (the last one deletes it): no force,
      // so an image something started using meanwhile is refused by the engine, not pulled from under it.
      const names = tags.filter((t) => t !== '<none>:<none>');
      for (const name of names.length > 0 ? names : [item.id]) await docker.removeImage(name, {}, call);
      return;
    }
    case 'network':
      return docker.removeNetwork(item.id, call);
    case 'buildCache':
      await docker.pruneBuildCache({ id: [item.id] }, call);
      return;
  }
}
