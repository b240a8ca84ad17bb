// Builds the planner's live state from Docker API answers: every container normalised against the
// frozen container it should be (so image defaults it declares are kept and secret env values
// compare as hashes), networks, volumes and images reduced to what planning reads.

import { NEXT_SUFFIX, type FrozenInput } from '../deploy/container-spec.js';
import type { DockerContainerInspect, DockerImageInspect, DockerNetworkInspect, DockerVolumeInspect } from '../deploy/docker-types.js';
import { normaliseInspect, type NormaliseOptions } from '../deploy/normalise-live.js';
import type { LiveImage, LiveNetwork, LiveState, LiveVolume } from './types.js';

export function liveNetwork(inspect: DockerNetworkInspect): LiveNetwork {
  const network: LiveNetwork = { id: inspect.Id, name: inspect.Name, labels: { ...(inspect.Labels ?? {}) } };
  if (inspect.Driver) network.driver = inspect.Driver;
  return network;
}

export function liveVolume(inspect: DockerVolumeInspect): LiveVolume {
  const volume: LiveVolume = { name: inspect.Name, labels: { ...(inspect.Labels ?? {}) } };
  if (inspect.Driver) volume.driver = inspect.Driver;
  return volume;
}

export function liveImage(inspect: DockerImageInspect): LiveImage {
  return { id: inspect.Id, repoTags: [...(inspect.RepoTags ?? [])], repoDigests: [...(inspect.RepoDigests ?? [])] };
}

/** What the live-state cache of one host holds: raw inspect output. */
export interface HostSnapshot {
  containers: DockerContainerInspect[];
  images: DockerImageInspect[];
  networks: DockerNetworkInspect[];
  volumes: DockerVolumeInspect[];
}

export interface LiveStateOptions {
  /** The same hash function resolveSecret uses, so secret env values compare by hash. */
  hashSecret?: (value: string) => string;
  daemon?: NormaliseOptions['daemon'];
  /**
   * Names of containers by ID, for `network_mode: container:ID` — when `snapshot` holds only some of
   * the host's containers, the names of the others.
   */
  containerNameById?: (id: string) => string | undefined;
}

/** Looks a container's name up by its full or abbreviated ID. */
export function containerNames(containers: readonly DockerContainerInspect[]): (id: string) => string | undefined {
  const byId = new Map(containers.map((c) => [c.Id, (c.Name ?? '').replace(/^\//, '')]));
  return (id) => byId.get(id) ?? [...byId.entries()].find(([full]) => full.startsWith(id))?.[1];
}

/**
 * The live state of a host as the planner (and the drift engine) need it for one frozen input:
 * each container is normalised against the frozen container of the same name (or of the name a
 * start-first replacement stands in for), others without one.
 */
export function buildLiveState(snapshot: HostSnapshot, frozen: FrozenInput | undefined, options: LiveStateOptions = {}): LiveState {
  const images = new Map(snapshot.images.map((i) => [i.Id, i]));
  const expectedByName = new Map((frozen?.containers ?? []).map((c) => [c.name, c]));
  const containerNameById = options.containerNameById ?? containerNames(snapshot.containers);
  const containers = snapshot.containers.map((inspect) => {
    const name = (inspect.Name ?? '').replace(/^\//, '');
    const expected = expectedByName.get(name) ?? (name.endsWith(NEXT_SUFFIX) ? expectedByName.get(name.slice(0, -NEXT_SUFFIX.length)) : undefined);
    return normaliseInspect(inspect, inspect.Image ? images.get(inspect.Image) : undefined, {
      expected,
      hashSecret: options.hashSecret,
      daemon: options.daemon,
      containerNameById,
    });
  });
  return {
    containers,
    networks: snapshot.networks.map(liveNetwork),
    volumes: snapshot.volumes.map(liveVolume),
    images: snapshot.images.map(liveImage),
  };
}
