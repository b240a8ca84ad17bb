// The rollout planner: frozen input + live state of the host → ordered actions, each with its
// reason. Pure and deterministic; the executor walks the list and stops at the first failure, and
// the next reconcile plans again from what it finds (a half-done plan is continued, never
// duplicated: names are deterministic and a start-first replacement runs under `<name>.next`).
//
// Order: conflicts (fail, and nothing else) → networks, volumes → images → components in
// depends_on order (create/replace/start, each new container waited for) → surplus containers
// (highest replica first) → networks no longer declared.

import { diffContainerSpecs } from '../deploy/compare.js';
import {
  LABELS,
  nextContainerName,
  ownerOf,
  type ComponentSpec,
  type ContainerSpec,
  type FrozenInput,
  type PortSpec,
} from '../deploy/container-spec.js';
import { canonicalImageRef, parseImageRef, repositoryOf } from '../deploy/image-ref.js';
import type { LiveContainer } from '../deploy/normalise-live.js';
import { topologicalOrder } from './graph.js';
import type { Action, HealthCheckKind, LiveImage, LiveState, PlanOptions, ServiceOwner } from './types.js';

/** Whether a container belongs to the Service. */
export function ownedBy(container: Pick<LiveContainer, 'labels'>, owner: ServiceOwner): boolean {
  const o = ownerOf(container.labels);
  return !!o && o.project === owner.project && o.environment === owner.environment && o.service === owner.service;
}

function describeOwner(container: LiveContainer): string {
  const o = ownerOf(container.labels);
  return o
    ? `which belongs to Service ${o.project}/${o.service} (environment ${o.environment})`
    : 'which Holdfast does not manage (no holdfast.dev/managed-by label)';
}

const isUp = (c: LiveContainer) => c.state.running || c.state.restarting || c.state.paused;

/** Whether two published ports claim the same host port: same number and protocol, overlapping addresses. */
function portsCollide(a: PortSpec, b: PortSpec): boolean {
  if (a.hostPort === undefined || b.hostPort === undefined) return false;
  if (a.hostPort !== b.hostPort || a.protocol !== b.protocol) return false;
  return a.hostIP === undefined || b.hostIP === undefined || a.hostIP === b.hostIP;
}

const portText = (p: PortSpec) => `${p.hostIP ? `${p.hostIP}:` : ''}${p.hostPort}/${p.protocol}`;

/** Whether the image (at the digest, when one is given) is on the host. */
export function imagePresent(image: string, digest: string | undefined, images: readonly LiveImage[]): boolean {
  const ref = parseImageRef(image);
  const wantedDigest = digest ?? ref.digest;
  if (wantedDigest) {
    const repository = repositoryOf(image);
    return images.some((i) => i.repoDigests.some((rd) => rd.endsWith(`@${wantedDigest}`) && repositoryOf(rd.slice(0, rd.indexOf('@'))) === repository));
  }
  const wanted = canonicalImageRef(image);
  return images.some((i) => i.repoTags.some((t) => canonicalImageRef(t) === wanted));
}

function healthCheckOf(component: ComponentSpec, container: ContainerSpec): Pick<Extract<Action, { type: 'wait-healthy' }>, 'check' | 'readiness'> {
  if (component.readiness) return { check: 'readiness', readiness: component.readiness };
  const check: HealthCheckKind = container.healthcheck && container.healthcheck.test[0] !== 'NONE' ? 'docker-health' : 'running';
  return { check };
}

/** Stop (when up) and remove one of the Service's containers, by id. */
export function removeActions(c: LiveContainer, why: string): Action[] {
  const out: Action[] = [];
  if (isUp(c)) out.push({ type: 'stop', target: c.name, containerId: c.id, reason: why, timeoutSeconds: c.stopGraceSeconds, ...(c.stopSignal ? { signal: c.stopSignal } : {}) });
  out.push({ type: 'remove', target: c.name, containerId: c.id, reason: why });
  return out;
}

function stateText(c: LiveContainer): string {
  if (c.state.status === 'exited') return `exited (exit code ${c.state.exitCode})`;
  return c.state.status;
}

class Planner {
  private readonly actions: Action[] = [];
  private readonly fails: Action[] = [];
  private readonly owner: ServiceOwner;
  private readonly ours: LiveContainer[];
  private readonly others: LiveContainer[];
  private readonly byName = new Map<string, LiveContainer>();
  private readonly components = new Map<string, ComponentSpec>();
  private readonly imagesNeeded = new Map<string, Action>();
  /** Components whose containers this plan replaces or creates. */
  private readonly changed = new Set<string>();
  /** Container names this plan replaces (their network namespace goes away). */
  private readonly replacedNames = new Set<string>();

  constructor(
    private readonly frozen: FrozenInput,
    private readonly live: LiveState,
    private readonly options: PlanOptions,
  ) {
    this.owner = { project: frozen.project, environment: frozen.environment, service: frozen.service.name };
    this.ours = live.containers.filter((c) => ownedBy(c, this.owner));
    this.others = live.containers.filter((c) => !ownedBy(c, this.owner));
    for (const c of live.containers) this.byName.set(c.name, c);
    for (const c of frozen.components) this.components.set(c.name, c);
  }

  private fail(target: string, reason: string, failure?: string) {
    this.fails.push({ type: 'fail', target, reason, ...(failure ? { failure } : {}) });
  }

  plan(): Action[] {
    const order = topologicalOrder(this.frozen.components);
    if ('cycle' in order) {
      this.fail(order.cycle[0], `depends_on cycle: ${order.cycle.join(' → ')}; no start order exists`);
      return this.fails;
    }
    this.checkNames();
    this.checkPorts();
    this.planNetworksAndVolumes();
    if (this.fails.length > 0) return this.fails;

    const desiredNames = new Set(this.frozen.containers.flatMap((c) => [c.name, nextContainerName(c.name)]));
    const surplus = this.ours
      .filter((c) => !desiredNames.has(c.name))
      .sort((a, b) => (a.component === b.component ? b.replicaIndex - a.replicaIndex : a.component < b.component ? -1 : 1));
    // Surplus containers that hold a host port a new container needs go first, the rest last.
    const wantedPorts = this.frozen.containers.flatMap((c) => c.ports);
    const blocking = surplus.filter((c) => isUp(c) && c.ports.some((p) => wantedPorts.some((w) => portsCollide(p, w))));
    for (const c of blocking) this.removeContainer(c, `${c.name} is no longer declared and holds a host port a declared container needs`);

    const containerActions: Action[] = [];
    for (const name of order.order) {
      const component = this.components.get(name)!;
      const containers = this.frozen.containers.filter((c) => c.component === name).sort((a, b) => a.replicaIndex - b.replicaIndex);
      for (const desired of containers) containerActions.push(...this.planContainer(component, desired));
    }
    this.actions.push(...this.imagesNeeded.values(), ...containerActions);

    for (const c of surplus) {
      if (blocking.includes(c)) continue;
      const why = this.components.has(c.component)
        ? `replica ${c.replicaIndex} of ${c.component} is beyond the ${this.components.get(c.component)!.replicas} declared`
        : `component ${c.component || '(unknown)'} is no longer declared`;
      this.removeContainer(c, why);
    }
    this.planNetworkRemovals();
    return this.actions;
  }

  /** Our deterministic names must be free of containers that are not ours. */
  private checkNames() {
    for (const desired of this.frozen.containers) {
      for (const name of [desired.name, nextContainerName(desired.name)]) {
        const existing = this.byName.get(name);
        if (existing && !ownedBy(existing, this.owner)) {
          this.fail(name, `container name ${name} is taken by container ${existing.id.slice(0, 12)} ${describeOwner(existing)}; Holdfast will not touch it`);
        }
      }
    }
  }

  /** Host ports must be free of running containers that are not ours, and claimed once. */
  private checkPorts() {
    const claims: Array<{ container: ContainerSpec; port: PortSpec }> = [];
    for (const desired of this.frozen.containers) {
      for (const port of desired.ports) {
        if (port.hostPort === undefined) continue;
        const twice = claims.find((c) => portsCollide(c.port, port));
        if (twice) this.fail(desired.name, `host port ${portText(port)} is claimed by both ${twice.container.name} and ${desired.name}`);
        claims.push({ container: desired, port });
        for (const other of this.others) {
          if (!isUp(other)) continue;
          const holder = other.ports.find((p) => portsCollide(p, port));
          if (holder) {
            this.fail(desired.name, `host port ${portText(port)} is published by container ${other.name} (${other.id.slice(0, 12)}) ${describeOwner(other)}; free the port or change hostPort`, 'PortInUse');
          }
        }
      }
    }
  }

  private planNetworksAndVolumes() {
    for (const network of this.frozen.networks) {
      const existing = this.live.networks.find((n) => n.name === network.name);
      if (network.external) {
        if (!existing) this.fail(network.name, `external network ${network.name} does not exist on server ${this.frozen.target.server}; create it, or drop external: true`);
        continue;
      }
      if (!existing) {
        this.actions.push({ type: 'create-network', target: network.name, reason: `network ${network.name} does not exist`, network });
      } else if (network.driver && existing.driver && network.driver !== existing.driver) {
        this.fail(network.name, `network ${network.name} exists with driver ${existing.driver}, not ${network.driver}; Holdfast does not replace a network containers may use`);
      }
    }
    for (const volume of this.frozen.volumes) {
      const existing = this.live.volumes.find((v) => v.name === volume.name);
      if (volume.external) {
        if (!existing) this.fail(volume.name, `external volume ${volume.name} does not exist on server ${this.frozen.target.server}; create it, or drop external: true`);
        continue;
      }
      if (!existing) {
        this.actions.push({ type: 'create-volume', target: volume.name, reason: `volume ${volume.name} does not exist`, volume });
      } else if (volume.driver && existing.driver && volume.driver !== existing.driver) {
        this.fail(volume.name, `volume ${volume.name} exists with driver ${existing.driver}, not ${volume.driver}; Holdfast never replaces a volume (it holds data)`);
      }
    }
  }

  private needImage(component: ComponentSpec, container: ContainerSpec) {
    const key = `${container.image}@${container.imageDigest ?? ''}`;
    if (this.imagesNeeded.has(key) || imagePresent(container.image, container.imageDigest, this.live.images)) return;
    if (component.build) {
      this.imagesNeeded.set(key, { type: 'build', target: container.image, image: container.image, component: component.name, build: component.build, reason: `image ${container.image} is not on the server; build it from ${component.build.git ? component.build.git.url : component.build.context}` });
    } else {
      const action: Action = { type: 'pull', target: container.image, image: container.image, reason: `image ${container.image} is not on the server` };
      if (container.imageDigest) {
        action.digest = container.imageDigest;
        action.reason = `image ${container.image} at ${container.imageDigest} is not on the server`;
      }
      this.imagesNeeded.set(key, action);
    }
  }

  private create(component: ComponentSpec, desired: ContainerSpec, name: string, reason: string): Action[] {
    this.needImage(component, desired);
    this.changed.add(component.name);
    return [
      { type: 'create', target: name, reason, container: { ...desired, name } },
      { type: 'start', target: name, reason: `start the new container ${name}` },
      this.waitFor(component, desired, name),
    ];
  }

  private waitFor(component: ComponentSpec, desired: ContainerSpec, name: string): Action {
    const deadlineSeconds = this.frozen.update.healthDeadlineSeconds;
    if (component.runsToCompletion) {
      return { type: 'wait-completed', target: name, reason: `${component.name} runs to completion and a dependent waits for it to exit 0`, deadlineSeconds };
    }
    const check = healthCheckOf(component, desired);
    const what = check.check === 'readiness' ? 'its readiness probe passes' : check.check === 'docker-health' ? 'Docker reports it healthy' : 'it keeps running';
    return { type: 'wait-healthy', target: name, reason: `wait until ${what}`, deadlineSeconds, ...check };
  }

  private removeContainer(c: LiveContainer, why: string) {
    this.actions.push(...removeActions(c, why));
  }

  private removeActions(c: LiveContainer, why: string): Action[] {
    return removeActions(c, why);
  }

  private differences(desired: ContainerSpec, live: LiveContainer): string[] {
    const paths = diffContainerSpecs(desired, live, { ignorePaths: this.options.ignorePaths }).map((d) => d.path);
    // Taken off Docker's default network by hand: only a new container is put back on it.
    if (live.disconnectedFromDefault && desired.networks.length === 0 && !desired.networkMode) paths.push('networks[bridge]');
    return paths;
  }

  /** Whether `live` runs the frozen spec: its fields, and (unless drift is ignored) nothing else. */
  private judge(desired: ContainerSpec, live: LiveContainer): { upToDate: boolean; adopt: boolean; why: string } {
    const desiredHash = desired.labels[LABELS.specHash];
    const liveHash = live.labels[LABELS.specHash];
    const diffs = this.differences(desired, live);
    if (liveHash === desiredHash) {
      if (diffs.length === 0 || this.options.fieldDrift === 'ignore') return { upToDate: true, adopt: false, why: '' };
      return { upToDate: false, adopt: false, why: `it was changed on the host (${diffs.join(', ')})` };
    }
    if (diffs.length === 0) return { upToDate: true, adopt: true, why: '' };
    return { upToDate: false, adopt: false, why: `the spec changed (${diffs.join(', ')})` };
  }

  private planContainer(component: ComponentSpec, desired: ContainerSpec): Action[] {
    const name = desired.name;
    const nextName = nextContainerName(name);
    const current = this.ours.find((c) => c.name === name);
    const next = this.ours.find((c) => c.name === nextName);
    const out: Action[] = [];

    // A start-first replacement a previous run left half done: finish it, or clear it away.
    if (next) {
      const verdict = this.judge(desired, next);
      if (verdict.upToDate && !next.state.dead) {
        this.changed.add(component.name);
        if (current) this.replacedNames.add(name);
        if (!next.state.running) out.push({ type: 'start', target: nextName, containerId: next.id, reason: `continue the replacement of ${name}: start ${nextName}` });
        out.push(this.waitFor(component, desired, nextName));
        if (current) out.push(...this.removeActions(current, `${nextName} replaces it`));
        out.push({ type: 'rename', target: nextName, containerId: next.id, to: name, reason: `${nextName} takes the name ${name}` });
        return out;
      }
      out.push(...this.removeActions(next, `${nextName} was left by an earlier rollout and does not match the frozen spec`));
    }

    if (!current) {
      out.push(...this.create(component, desired, name, `container ${name} does not exist`));
      return out;
    }

    // Anything that joined the network namespace of a container this plan replaces must be recreated.
    const joinsReplaced = desired.networkMode?.startsWith('container:') && this.replacedNames.has(desired.networkMode.slice('container:'.length));
    const verdict = this.judge(desired, current);
    if (verdict.upToDate && !current.state.dead && !joinsReplaced) {
      if (verdict.adopt && !this.options.adoptedContainerIds?.has(current.id)) {
        out.push({
          type: 'adopt',
          target: name,
          containerId: current.id,
          specHash: desired.labels[LABELS.specHash],
          reason: current.labels[LABELS.specHash]
            ? `${name} matches the frozen spec field by field; its spec-hash label is from another version, so it is adopted as it is (Docker labels cannot change)`
            : `${name} carries Holdfast's labels and matches the frozen spec but has no spec-hash label; adopted as it is instead of creating a duplicate`,
        });
      }
      out.push(...this.converge(component, desired, current));
      return out;
    }

    const why = current.state.dead
      ? `${name} is dead`
      : joinsReplaced
        ? `${name} shares the network stack of ${desired.networkMode!.slice('container:'.length)}, which is replaced`
        : `${name} does not match the frozen spec: ${verdict.why}`;
    this.changed.add(component.name);
    this.replacedNames.add(name);
    const stopFirst = this.stopFirstReason(component, desired, current);
    if (stopFirst) {
      out.push(...this.removeActions(current, `${why}; replaced stop-first (${stopFirst})`));
      out.push(...this.create(component, desired, name, `replaces the old ${name}`));
    } else {
      out.push(...this.create(component, desired, nextName, `${why}; replaced start-first: the new container starts beside the old one`));
      out.push(...this.removeActions(current, `${nextName} is ready and replaces it`));
      out.push({ type: 'rename', target: nextName, to: name, reason: `${nextName} takes the name ${name}` });
    }
    return out;
  }

  /** Why the old container must go before the new one starts; undefined when start-first works. */
  private stopFirstReason(component: ComponentSpec, desired: ContainerSpec, current: LiveContainer): string | undefined {
    if (this.frozen.update.order === 'stop-first') return 'update.order is stop-first';
    if (!isUp(current)) return `the old container is ${stateText(current)}`;
    if (component.runsToCompletion) return `${component.name} runs to completion`;
    const collisions = desired.ports.filter((p) => current.ports.some((c) => portsCollide(c, p)));
    if (collisions.length > 0) return `host port ${collisions.map(portText).join(', ')} cannot be published by two containers at once`;
    if (desired.networkMode === 'host' && desired.ports.length + desired.exposedPorts.length > 0) return 'host networking: both would listen on the same ports';
    return undefined;
  }

  /** An up-to-date container in the wrong state: start, unpause or restart it. */
  private converge(component: ComponentSpec, desired: ContainerSpec, current: LiveContainer): Action[] {
    const name = desired.name;
    const out: Action[] = [];
    if (current.state.paused) {
      out.push({ type: 'unpause', target: name, containerId: current.id, reason: `${name} is paused` });
      return out;
    }
    if (current.state.running || current.state.restarting) {
      const restartFor = component.dependsOn.filter((d) => d.restart && this.changed.has(d.component)).map((d) => d.component);
      if (restartFor.length > 0) {
        const why = `its dependency ${restartFor.join(', ')} was replaced (depends_on restart: true)`;
        out.push({ type: 'stop', target: name, containerId: current.id, reason: why, timeoutSeconds: current.stopGraceSeconds, ...(current.stopSignal ? { signal: current.stopSignal } : {}) });
        out.push({ type: 'start', target: name, containerId: current.id, reason: why });
        out.push(this.waitFor(component, desired, name));
      } else if (this.options.verifyRunning) {
        const wait = this.waitFor(component, desired, name);
        out.push({ ...wait, reason: `${name} already runs this input: ${wait.reason} before the rollout completes` });
      }
      return out;
    }
    if (component.runsToCompletion && current.state.status === 'exited' && current.state.exitCode === 0) return out;
    this.changed.add(component.name);
    out.push({ type: 'start', target: name, containerId: current.id, reason: `${name} is ${stateText(current)} and matches the frozen spec` });
    out.push(this.waitFor(component, desired, name));
    return out;
  }

  private planNetworkRemovals() {
    const declared = new Set(this.frozen.networks.map((n) => n.name));
    for (const network of this.live.networks) {
      if (declared.has(network.name) || !ownedBy({ labels: network.labels }, this.owner)) continue;
      this.actions.push({ type: 'remove-network', target: network.name, networkId: network.id, reason: `network ${network.name} is no longer declared` });
    }
  }
}

/**
 * The actions that take the host from `live` to `frozen`, in order, each with its reason. When
 * something blocks the rollout (a depends_on cycle, a name or host port held by a container that
 * is not the Service's, a missing external network), the plan is only `fail` actions saying what.
 */
export function planRollout(frozen: FrozenInput, live: LiveState, options: PlanOptions = {}): Action[] {
  return new Planner(frozen, live, options).plan();
}
