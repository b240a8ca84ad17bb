// The shapes the dashboard reads from the API: the resource kinds as the schemas generate them
// (core/schema/types.generated.ts), and the API's other answers.

import type { ObjectMeta, Resource } from '../../../core/resource.js';
import type { ProjectSpec, ServerSpec, ServerStatus, ServiceSpec, ServiceStatus } from '../../../core/schema/types.generated.js';

export type { Condition, ObjectMeta, Resource, ResourceStatus } from '../../../core/resource.js';
export type {
  ServerSpec,
  ServerStatus,
  ServerStatusCheck as ServerCheck,
  ServerStatusDockerSwarm as SwarmInfo,
  ServerStatusDockerSwarmNodeList as SwarmNodeInfo,
  ServiceSpec,
  ServiceStatus,
} from '../../../core/schema/types.generated.js';

export type Service = Resource<ServiceSpec, ServiceStatus>;

export type Server = Resource<ServerSpec, ServerStatus>;

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

export type { DeploymentStep, StepStatus } from '../../../core/deploy/deployment-record.js';
import type { DeploymentRecord } from '../../../core/deploy/deployment-record.js';

/** A deployment record as `GET …/services/{name}/deployments` lists it (newest first): no frozen input. */
export type Deployment = Omit<DeploymentRecord, 'frozen'>;

/** `GET …/deployments/{id}`: the record with the frozen input it deployed. */
export type DeploymentWithInput = DeploymentRecord;

export type { AuditEvent } from '../../../core/audit-event.js';

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
