// The live view of a Service in the frozen input's shape, so frozen and live can be shown side by
// side and diffed as text: what the host cannot show (update strategy, deletion policy, component
// graph, target) is the frozen input's, and the containers are what the host runs, normalised. A
// container's state appears only where it is drift (stopped, exited, restarting, unhealthy), so
// frozen and live differ exactly where the drift engine finds differences. Pure.
import { diffContainerSpecs } from '../deploy/compare.js';
import type { ContainerSpec, FrozenInput } from '../deploy/container-spec.js';
import type { LiveContainer } from '../deploy/normalise-live.js';
import { claimsService, stateDeviations } from './live.js';

export type LiveContainerView = ContainerSpec & { state?: { status?: string; health?: string } };

export interface LiveView {
  target: { server: string };
  containers: LiveContainerView[];
  [field: string]: unknown;
}

/** The top-level field of a container a compare path names: `env` for `env.A`, `ports` for `ports[80/tcp]`. */
const fieldOf = (path: string) => /^[A-Za-z]+/.exec(path)?.[0] ?? path;

/**
 * A live container as the views show it: the container model, with every field the comparison
 * finds equal written as the frozen input writes it (a tag pinned by digest, a zero start period,
 * the bookkeeping labels), so frozen and live differ as text exactly where they differ; its state
 * only when the state is drift.
 */
export function liveContainerView(container: LiveContainer, frozen: FrozenInput | undefined): LiveContainerView {
  const { id: _id, imageId: _imageId, createdAt: _createdAt, state, ...spec } = container;
  const expected = frozen?.containers.find((c) => c.name === container.name);
  const view = { ...spec } as LiveContainerView & Record<string, unknown>;
  if (expected) {
    const drifted = new Set(diffContainerSpecs(expected, container).map((d) => fieldOf(d.path)));
    if (drifted.has('imageDigest')) drifted.add('image');
    if (drifted.has('image')) drifted.add('imageDigest');
    const e = expected as unknown as Record<string, unknown>;
    for (const key of new Set([...Object.keys(view), ...Object.keys(e)])) {
      if (drifted.has(key)) continue;
      if (e[key] === undefined) delete view[key];
      else view[key] = e[key];
    }
  }
  const component = frozen?.components.find((c) => c.name === container.component);
  const deviations = stateDeviations(component, state);
  if (deviations.status || deviations.health) view.state = deviations;
  return view;
}

/**
 * What `server` runs for the Service: `owner` names the Service when nothing was deployed yet (no
 * frozen input); with one, the frozen input's fields (its target is `server`) frame the live
 * containers.
 */
export function buildLiveView(
  server: string,
  frozen: FrozenInput | undefined,
  live: readonly LiveContainer[],
  owner: Pick<FrozenInput, 'project' | 'environment' | 'service'>,
): LiveView {
  const ours = live.filter((c) => claimsService(frozen ?? owner, c.labels));
  const order = new Map((frozen?.containers ?? []).map((c, i) => [c.name, i]));
  const rank = (c: LiveContainer) => order.get(c.name) ?? order.size;
  const containers = [...ours]
    .sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((c) => liveContainerView(c, frozen));
  if (!frozen) return { target: { server }, containers };
  return { ...frozen, containers } as LiveView;
}
