// The host's containers as the drift engine reads them: each normalised against the frozen container
// of the same name, and a container that carries the Service's labels under another name (started
// by hand, left by an interrupted rollout, even with only some of a replica's labels) against a frozen container of its component, so its
// secret env values are read as hashes too and image defaults are told apart the same way. Pure.
import { NEXT_SUFFIX, type FrozenInput } from '../deploy/container-spec.js';
import { normaliseInspect, type LiveContainer } from '../deploy/normalise-live.js';
import { buildLiveState, containerNames, type HostSnapshot, type LiveStateOptions } from '../plan/live-state.js';
import { claimsService } from './live.js';

export function serviceLiveContainers(snapshot: HostSnapshot, frozen: FrozenInput | undefined, options: LiveStateOptions = {}): LiveContainer[] {
  if (!frozen) return buildLiveState(snapshot, frozen, options).containers;
  // Only the containers that can concern this Service are normalised: the ones with its names and the
  // ones with its labels. A host runs many Services; normalising all of its containers for each would
  // cost the square of their number on every resync.
  const declared = new Set(frozen.containers.map((c) => c.name));
  const names = containerNames(snapshot.containers);
  const concerned = snapshot.containers.filter((inspect) => {
    const name = (inspect.Name ?? '').replace(/^\//, '');
    if (declared.has(name) || (name.endsWith(NEXT_SUFFIX) && declared.has(name.slice(0, -NEXT_SUFFIX.length)))) return true;
    return claimsService(frozen, inspect.Config?.Labels);
  });
  const containers = buildLiveState({ ...snapshot, containers: concerned }, frozen, { ...options, containerNameById: names }).containers;
  if (frozen.containers.length === 0) return containers;
  const inspects = new Map(concerned.map((c) => [c.Id, c]));
  const images = new Map(snapshot.images.map((i) => [i.Id, i]));
  return containers.map((live) => {
    if (declared.has(live.name) || !claimsService(frozen, live.labels)) return live;
    const like = frozen.containers.find((c) => c.component === live.component) ?? frozen.containers[0];
    const inspect = inspects.get(live.id);
    if (!inspect) return live;
    return normaliseInspect(inspect, inspect.Image ? images.get(inspect.Image) : undefined, {
      expected: like,
      hashSecret: options.hashSecret,
      daemon: options.daemon,
      containerNameById: names,
    });
  });
}
