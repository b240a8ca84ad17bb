// The planner's input (the live state of one host, normalised) and output (actions as data, each
// with its reason). The executor walks the actions in order and stops at the first failure.

import type {
  BuildSpec,
  ContainerSpec,
  NetworkSpec,
  ReadinessProbe,
  VolumeSpec,
} from '../deploy/container-spec.js';
import type { LiveContainer } from '../deploy/normalise-live.js';
import type { SwarmFile, SwarmServicePlan } from '../deploy/swarm-spec.js';

export interface LiveNetwork {
  id: string;
  name: string;
  driver?: string;
  labels: Record<string, string>;
}

export interface LiveVolume {
  name: string;
  driver?: string;
  labels: Record<string, string>;
}

export interface LiveImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

/** What one host runs, as the live-state cache knows it. */
export interface LiveState {
  /** Every container on the host, normalised (see normaliseInspect); foreign ones included. */
  containers: LiveContainer[];
  networks: LiveNetwork[];
  volumes: LiveVolume[];
  images: LiveImage[];
}

export interface ServiceOwner {
  project: string;
  environment: string;
  service: string;
}

interface ActionBase {
  /** What the action acts on: a container, network or volume name, or an image reference. */
  target: string;
  /** Why, in a sentence a person reads in the deployment log. */
  reason: string;
}

/** How to tell a new container is ready. `docker-health` falls back to `running` when the container reports no health. */
export type HealthCheckKind = 'docker-health' | 'readiness' | 'running';

export type Action =
  | (ActionBase & { type: 'create-network'; network: NetworkSpec })
  | (ActionBase & { type: 'create-volume'; volume: VolumeSpec })
  | (ActionBase & { type: 'pull'; image: string; digest?: string })
  | (ActionBase & { type: 'build'; image: string; component: string; build: BuildSpec })
  | (ActionBase & { type: 'create'; container: ContainerSpec })
  | (ActionBase & { type: 'start'; containerId?: string })
  | (ActionBase & { type: 'unpause'; containerId: string })
  | (ActionBase & { type: 'wait-healthy'; check: HealthCheckKind; readiness?: ReadinessProbe; deadlineSeconds: number })
  | (ActionBase & { type: 'wait-completed'; deadlineSeconds: number })
  /** `signal`: the container's own stop signal when it sets one (else the image's); SIGKILL follows after `timeoutSeconds` (Docker's 10 by default). */
  | (ActionBase & { type: 'stop'; containerId?: string; timeoutSeconds?: number; signal?: string })
  | (ActionBase & { type: 'remove'; containerId?: string })
  | (ActionBase & { type: 'rename'; containerId?: string; to: string })
  | (ActionBase & { type: 'adopt'; containerId: string; specHash: string })
  | (ActionBase & { type: 'remove-network'; networkId: string })
  | (ActionBase & { type: 'remove-volume' })
  | (ActionBase & { type: 'create-service'; service: SwarmServicePlan })
  | (ActionBase & { type: 'update-service'; service: SwarmServicePlan; serviceId: string; version: number })
  | (ActionBase & { type: 'wait-service'; service: SwarmServicePlan; deadlineSeconds: number })
  | (ActionBase & { type: 'remove-service'; serviceId: string })
  | (ActionBase & { type: 'create-swarm-file'; file: SwarmFile })
  | (ActionBase & { type: 'remove-swarm-file'; kind: SwarmFile['kind']; objectId: string })
  /** A refusal; `failure` is the deployment's reason when it is more precise than PlanFailed (PortInUse). */
  | (ActionBase & { type: 'fail'; failure?: string });

export type ActionType = Action['type'];

export interface PlanOptions {
  /**
   * A container whose spec-hash label matches but whose fields differ was changed behind
   * Holdfast's back: `replace` it (converge; the default) or `ignore` it (leave drift to be reported).
   */
  fieldDrift?: 'replace' | 'ignore';
  /** Paths whose differences never cause a replacement (the Service's driftPolicy.ignoreDifferences). */
  ignorePaths?: readonly string[];
  /**
   * Ids of containers already adopted (recorded by an earlier deployment). Docker labels cannot be
   * changed, so an adopted container keeps its old spec-hash label; it is not adopted again.
   */
  adoptedContainerIds?: ReadonlySet<string>;
  /**
   * A rollout completes only when every replica passed its check after it started: a container the
   * host already runs as declared is checked too (a wait-healthy), instead of trusted as it is.
   */
  verifyRunning?: boolean;
}
