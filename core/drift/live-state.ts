// The host's containers as the drift engine reads them: each normalised against the frozen container
// of the same name, and a container that carries the Service's labels under another name (started
// by hand, left by an interrupted rollout) against a frozen container of its component, so its
// secret env values are read as hashes too and image defaults are told apart the same way. Pure.
import type { FrozenInput } from '../deploy/container-spec.js';
import { normaliseInspect, type LiveContainer } from '../deploy/normalise-live.js';
import { buildLiveState, type HostSnapshot, type LiveStateOptions } from '../plan/live-state.js';
import { belongsTo } from './live.js';

export function serviceLiveContainers(snapshot: HostSnapshot, frozen: FrozenInput | undefined, options: LiveStateOptions = {}): LiveContainer[] {
  const containers = buildLiveState(snapshot, frozen, options).containers;
  if (!frozen || frozen.containers.length === 0) return containers;
  const declared = new Set(frozen.containers.map((c) => c.name));
  const inspects = new Map(snapshot.containers.map((c) => [c.Id, c]));
  const images = new Map(snapshot.images.map((i) => [i.Id, i]));
  const names = new Map(snapshot.containers.map((c) => [c.Id, (c.Name ?? '').replace(/^\//, '')]));
  return containers.map((live) => {
    if (declared.has(live.name) || !belongsTo(frozen, live)) return live;
    const like = frozen.containers.find((c) => c.component === live.component) ?? frozen.containers[0];
    const inspect = inspects.get(live.id);
    if (!inspect) return live;
    return normaliseInspect(inspect, inspect.Image ? images.get(inspect.Image) : undefined, {
      expected: like,
      hashSecret: options.hashSecret,
      daemon: options.daemon,
      containerNameById: (id) => names.get(id) ?? [...names.entries()].find(([full]) => full.startsWith(id))?.[1],
    });
  });
}
