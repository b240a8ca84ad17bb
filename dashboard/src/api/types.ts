// The shapes the dashboard reads from the API. Only the fields it shows are spelled out; everything
// else passes through untouched.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface Resource<Spec = Record<string, unknown>, Status = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status & { observedGeneration?: number; conditions?: Condition[] };
}

export interface ServiceSpec {
  environment?: string;
  server?: string;
  source?: { image?: string; compose?: { file?: string; inline?: unknown }; build?: { git?: { url?: string; ref?: string } } };
  replicas?: number;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  driftPolicy?: { mode?: 'report' | 'heal' };
  [field: string]: unknown;
}

export interface DeploymentRef {
  name?: string;
  generation?: number;
  phase?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface ServiceStatus {
  replicas?: number;
  readyReplicas?: number;
  image?: string;
  imageDigest?: string;
  currentDeployment?: DeploymentRef;
  lastSuccessfulDeployment?: string;
  drift?: { count?: number; liveVsFrozen?: number; declaredVsFrozen?: number; lastCheckedTime?: string; lastHealedTime?: string };
  endpoints?: string[];
}

export type Service = Resource<ServiceSpec, ServiceStatus>;

export interface ServerCheck {
  name: string;
  result: 'Pass' | 'Warn' | 'Fail' | 'Unknown';
  message?: string;
  lastCheckTime?: string;
  [field: string]: unknown;
}

export interface ServerSpec {
  kind?: 'docker-engine' | 'docker-swarm-manager' | 'local';
  host?: string;
  port?: number;
  user?: string;
  sshKeyRef?: { name: string };
  hostKeyFingerprint?: string;
}

export interface SwarmInfo {
  nodeID?: string;
  role?: string;
  managers?: number;
  nodes?: number;
  [field: string]: unknown;
}

export interface ServerStatus {
  hostKeyFingerprint?: string;
  lastContactTime?: string;
  checks?: ServerCheck[];
  docker?: { version?: string; apiVersion?: string; os?: string; arch?: string; swarm?: SwarmInfo; [field: string]: unknown };
  compose?: { version?: string; variant?: 'plugin' | 'standalone' };
  resources?: { cpus?: number; memoryBytes?: number; diskFreeBytes?: number; load1?: number };
  /** Round trip of a Docker API ping over the kept SSH session at the last check. */
  latencyMs?: number;
  pollIntervalMs?: number;
  [field: string]: unknown;
}

export type Server = Resource<ServerSpec, ServerStatus>;

export interface ProjectSpec {
  description?: string;
  environments?: Array<{ name: string }>;
}

export type Project = Resource<ProjectSpec>;

export interface KubeEvent {
  apiVersion: string;
  kind: 'Event';
  metadata: ObjectMeta;
  involvedObject: { kind: string; name: string; namespace?: string; uid?: string; fieldPath?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string };
}

export type { DriftSource, ObservedDriftEntry as DriftEntry } from '../../../core/drift/types.js';
import type { ObservedDriftEntry as DriftEntry } from '../../../core/drift/types.js';

/** One row of `GET …/services/{name}/drift/history` (newest first). */
export interface DriftHistoryEntry extends DriftEntry {
  firstSeen: string;
  lastSeen: string;
  resolvedAt?: string;
  /** healed (a heal deployment put it back) or gone (no longer seen). */
  resolution?: 'healed' | 'gone' | string;
  healedBy?: string;
}

/** `GET …/services/{name}/views`: the three views and the drift between them, secrets redacted. */
export interface ServiceViews {
  declared?: unknown;
  frozen?: unknown;
  live?: unknown;
  drift?: DriftEntry[];
  /** Why a view is missing or not current, when it is (host unreadable, rollout running). */
  notes?: string[];
}

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface DeploymentStep {
  /** clone, build, pull, volume, start, health, finalize */
  name: string;
  status: StepStatus | string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

/** A deployment record as `GET …/services/{name}/deployments` lists it (newest first). */
export interface Deployment {
  id: string;
  namespace?: string;
  service?: string;
  revision?: number;
  generation?: number;
  /** queued → prepare → deploy → finalize → completed | failed | canceled */
  phase: string;
  trigger?: string;
  actor?: string;
  server?: string;
  sourceCommit?: string;
  specHash?: string;
  rollbackOf?: number;
  steps?: DeploymentStep[];
  reason?: string;
  message?: string;
  cancelRequested?: boolean;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  deadline?: string;
}

/** `GET …/deployments/{id}`: the record with the frozen input it deployed. */
export interface DeploymentWithInput extends Deployment {
  frozen?: unknown;
}

/** One row of `GET /auditlog` (oldest first, paged with `continue`). */
export interface AuditEvent {
  id: string;
  time: string;
  actor: string;
  verb: string;
  kind: string;
  namespace?: string;
  name: string;
  generation?: number;
  resourceVersion?: string;
  dryRun: boolean;
  outcome: string;
  message?: string;
}

/** A Kubernetes `Status`: how the API answers errors. */
export interface ApiStatus {
  kind: 'Status';
  status: 'Success' | 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; kind?: string; causes?: Array<{ field?: string; message: string; reason?: string }> };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR' | 'BOOKMARK';
  object: T;
}
