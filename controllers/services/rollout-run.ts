// What the parts of one rollout share: its dependencies, and the running deployment's log, steps,
// clock and cancellation, as the Rollout (rollout.ts) lends them to the parts that act for it — the
// waits for replicas (replica-waits.ts), Swarm services (swarm-rollout.ts) and image builds
// (image-build.ts).
import type { Readable } from 'node:stream';
import type { FrozenInput, ReadinessProbe, SecretKeyRef } from '../../core/deploy/container-spec.js';
import type { PublishMode } from '../../core/deploy/swarm-spec.js';
import { ignoreDockerNotFound } from '../../hosts/errors.js';
import type { StepName } from '../../core/deploy/deployment-record.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { HostAccess } from '../../hosts/host-access.js';
import type { ProbeResult } from './readiness-probe.js';
import type { SwarmTaskProbeDeps } from './swarm-task-probes.js';

export interface RolloutDeps {
  deployments: DeploymentStore;
  host: HostAccess;
  /** The real value of a Secret key, for the create request only; never logged. */
  secretValue(ref: SecretKeyRef): Promise<string>;
  /** The keyed hash secret values are frozen with, so live secret env compares by hash. */
  hashSecret(value: string): string;
  /** The Service's driftPolicy.ignoreDifferences paths: differences there never force a replacement. */
  ignorePaths?: readonly string[];
  /** A build context tar `holdfast apply` uploaded, as a stream; undefined when the store does not hold it. */
  buildContext?(namespace: string, digest: string): Promise<{ size: number; stream: Readable } | undefined>;
  /**
   * Set when the server is a Swarm manager: image and build Services run as Swarm services there,
   * their ports published in this mode (host when the manager has no IPVS). Compose Services stay
   * containers on the manager's own engine.
   */
  swarm?: {
    publishMode: PublishMode;
    /** Where the readiness probes of tasks run from; without it an http/tcp probe is not run against tasks. */
    taskProbes?: SwarmTaskProbeDeps;
  };
  /** Each readiness probe result, so the continuous prober starts from what the rollout saw. */
  onProbe?(container: string, startedAt: string | undefined, probe: ReadinessProbe, result: ProbeResult): void;
  /** What deadlines and stability waits measure time by (the service controller's clock). */
  clock?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The running deployment, as the parts of its rollout see it. */
export interface RolloutRun {
  readonly deps: RolloutDeps;
  /** The input being rolled out (the previous one while a rollback puts it back). */
  frozen(): FrozenInput;
  /** The server the deployment is for. */
  readonly server: string;
  log(step: string, line: string): Promise<void>;
  /** Ends the current step and starts `step`, in one write. */
  enterStep(step: StepName): Promise<void>;
  /**
   * When this rollout's start of the container returned, by its clock; undefined if it did not start
   * it. The container has run since then if Docker has not restarted it (RestartCount still 0).
   */
  startedAt(container: string): number | undefined;
  /** Throws when the user asked to cancel the deployment. */
  checkCanceled(): Promise<void>;
  readonly clock: () => Date;
  /** Milliseconds since the epoch by the clock. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Every Secret key the input names, resolved once; a key that is not there fails the rollout. */
  secretResolver(): Promise<(ref: SecretKeyRef) => string>;
}

/** How often a wait on the host looks again (tasks of a Swarm service, a network still in use). */
export const POLL_MS = 1000;
/** A wait that goes on says where it stands at least this often. */
export const PROGRESS_EVERY_MS = 5000;

export const abortableSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((ok, fail) => {
    const onAbort = () => {
      clearTimeout(t);
      fail(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      ok();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Removals of what is already gone succeed. */
export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  await p.then(() => undefined, ignoreDockerNotFound);
}
