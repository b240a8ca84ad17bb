// Builds the planner's live state from Docker API answers.

import type { DockerImageInspect, DockerNetworkInspect, DockerVolumeInspect } from '../deploy/docker-types.js';
import type { LiveImage, LiveNetwork, LiveVolume } from './types.js';

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
