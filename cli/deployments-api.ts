// The deployment and drift endpoints as the CLI calls them: a Service's history, one deployment,
// its log, sync / rollback / cancel, and the Service's three views with their drift.
import { API_VERSION, type Resource } from '../core/resource.js';
import type { ObservedDriftEntry as DriftEntry } from '../core/drift/types.js';
import type { DeploymentRecord, LogLine } from '../core/deploy/deployment-record.js';
import type { HoldfastClient } from './client.js';

/** A deployment as lists and actions return it (the frozen input only comes with a single GET). */
export type DeploymentSummary = Omit<DeploymentRecord, 'frozen'> & { frozen?: unknown };

export interface DeploymentList {
  kind: 'DeploymentList';
  items: DeploymentSummary[];
}

export type { ObservedDriftEntry as DriftEntry } from '../core/drift/types.js';

/** `GET …/services/{name}/views`: declared, frozen and live, and the drift between them (secrets redacted). */
export interface ServiceViews {
  declared?: unknown;
  frozen?: unknown;
  live?: unknown;
  drift?: DriftEntry[];
}

/** The status fields of a Service that rollouts and drift report. */
export interface ServiceRolloutStatus {
  observedGeneration?: number;
  currentDeployment?: { name?: string; generation?: number; phase?: string; startedAt?: string; finishedAt?: string };
  lastSuccessfulDeployment?: string;
  drift?: { count?: number; liveVsFrozen?: number; declaredVsFrozen?: number; lastCheckedTime?: string; lastHealedTime?: string };
}

export const TERMINAL_PHASES: ReadonlySet<string> = new Set(['completed', 'failed', 'canceled']);
export const isTerminalPhase = (phase: string | undefined) => phase !== undefined && TERMINAL_PHASES.has(phase);

const base = `/apis/${API_VERSION}`;
const servicePath = (namespace: string, name: string) => `${base}/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`;
const deploymentPath = (id: string) => `${base}/deployments/${encodeURIComponent(id)}`;

export function serviceStatus(service: Resource): ServiceRolloutStatus {
  return (service.status ?? {}) as ServiceRolloutStatus;
}

export async function listDeployments(client: HoldfastClient, namespace: string, name: string, limit?: number): Promise<DeploymentSummary[]> {
  const list = (await client.request({ method: 'GET', path: `${servicePath(namespace, name)}/deployments`, query: { limit } })) as DeploymentList;
  return list.items ?? [];
}

export async function getDeployment(client: HoldfastClient, id: string): Promise<DeploymentRecord> {
  return (await client.request({ method: 'GET', path: deploymentPath(id) })) as DeploymentRecord;
}

export async function syncService(client: HoldfastClient, namespace: string, name: string): Promise<DeploymentSummary> {
  return (await client.request({ method: 'POST', path: `${servicePath(namespace, name)}/sync`, body: {} })) as DeploymentSummary;
}

export async function rollbackService(client: HoldfastClient, namespace: string, name: string, toRevision?: number): Promise<DeploymentSummary> {
  const body = toRevision === undefined ? {} : { toRevision };
  return (await client.request({ method: 'POST', path: `${servicePath(namespace, name)}/rollback`, body })) as DeploymentSummary;
}

export async function cancelDeployment(client: HoldfastClient, id: string): Promise<DeploymentSummary> {
  return (await client.request({ method: 'POST', path: `${deploymentPath(id)}/cancel`, body: {} })) as DeploymentSummary;
}

export function streamLogs(client: HoldfastClient, id: string, opts: { follow?: boolean; step?: string; signal?: AbortSignal }): AsyncGenerator<string> {
  return client.streamText(
    { method: 'GET', path: `${deploymentPath(id)}/logs`, query: { follow: opts.follow ? 'true' : undefined, step: opts.step } },
    opts.signal,
  );
}

/** The log lines written so far after the one with id `afterId`, oldest first. */
export async function readLogLines(client: HoldfastClient, id: string, afterId: number): Promise<LogLine[]> {
  let text = '';
  for await (const chunk of client.streamText({ method: 'GET', path: `${deploymentPath(id)}/logs`, query: { format: 'json', after: afterId || undefined } })) text += chunk;
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogLine);
}

export async function getServiceViews(client: HoldfastClient, namespace: string, name: string): Promise<ServiceViews> {
  return (await client.request({ method: 'GET', path: `${servicePath(namespace, name)}/views` })) as ServiceViews;
}
