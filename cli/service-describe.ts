// The parts of `holdfast describe service` beyond the generic fields: the current deployment (with
// its revision, step and failure when the record can be read), the drift summary (with the entries
// when the views can be read) and, for a Swarm service, its tasks from the live view.
import type { Resource } from '../core/resource.js';
import type { HoldfastClient } from './client.js';
import { getDeployment, getServiceViews, isTerminalPhase, serviceStatus, type DeploymentSummary, type DriftEntry } from './deployments-api.js';
import { driftEntriesTable } from './drift-printers.js';
import { age, renderTable } from './printers.js';
import { deploymentDuration, progressKey } from './rollout-printers.js';

/** Status fields the sections show, left out of the generic Status block. */
export const SERVICE_SECTION_FIELDS = ['currentDeployment', 'lastSuccessfulDeployment', 'drift'] as const;

/** Most drift entries describe lists; the rest are a `holdfast drift` away. */
const MAX_DRIFT_ROWS = 10;

export interface ServiceSectionInput {
  service: Resource;
  /** The record of status.currentDeployment, when it could be read. */
  deployment?: DeploymentSummary;
  /** Drift entries from the views, when they could be read. */
  drift?: readonly DriftEntry[];
  /** The live view, when it could be read: a Swarm service's tasks are listed from it. */
  live?: unknown;
  now: Date;
}

/** A Swarm service in the live view, as far as the Tasks section reads it. */
interface LiveSwarmServiceView {
  name: string;
  tasks: Array<{ id: string; slot?: number; node?: string; state: string; desiredState: string; error?: string; message?: string; exitCode?: number; imageDigest?: string; current: boolean; since?: string }>;
}

/** `docker service ps` as describe shows it: one row per task the manager keeps, by slot and newest first. */
export function swarmTasksSection(live: unknown, now: Date): string[] {
  const services = (live as { services?: LiveSwarmServiceView[] } | undefined)?.services;
  if (!Array.isArray(services)) return [];
  const rows = [['TASK', 'NODE', 'DESIRED', 'STATE', 'SPEC', 'EXIT', 'DIGEST', 'ERROR']];
  for (const svc of services) {
    for (const t of svc.tasks) {
      rows.push([
        `${svc.name}.${t.slot ?? t.id.slice(0, 12)}`,
        t.node ?? '-',
        t.desiredState,
        `${t.state}${t.since ? ` ${age(t.since, now)} ago` : ''}`,
        t.current ? 'deployed' : 'other',
        t.exitCode !== undefined ? String(t.exitCode) : '-',
        t.imageDigest ? t.imageDigest.slice(0, 19) : '-',
        t.error ?? (t.state !== 'running' && t.message ? t.message : ''),
      ]);
    }
  }
  if (rows.length === 1) return ['Tasks:       <none>'];
  return ['Tasks:', ...renderTable(rows).trimEnd().split('\n').map((l) => `  ${l}`)];
}

const WIDTH = 'Last Successful:'.length + 2;
const line = (indent: string, title: string, value: string) => `${indent}${title.padEnd(WIDTH)}${value}`.trimEnd();

export function serviceSections({ service, deployment, drift, live, now }: ServiceSectionInput): string[] {
  const status = serviceStatus(service);
  const current = status.currentDeployment;
  const out: string[] = [];

  if (!current?.name) out.push('Deployment:  <none>');
  else {
    out.push('Deployment:');
    out.push(line('  ', 'Current:', deployment ? describeDeployment(deployment, now) : describeRef(current, now)));
    if (status.lastSuccessfulDeployment) out.push(line('  ', 'Last Successful:', status.lastSuccessfulDeployment));
  }

  const summary = status.drift;
  if (!summary?.lastCheckedTime && summary?.count === undefined) out.push('Drift:       <not checked yet>');
  else {
    const checked = summary.lastCheckedTime ? `checked ${age(summary.lastCheckedTime, now)} ago` : '';
    const policy = ((service.spec as { driftPolicy?: { mode?: string } } | undefined)?.driftPolicy?.mode ?? 'report') as string;
    const healed = summary.lastHealedTime ? `, last healed ${age(summary.lastHealedTime, now)} ago` : '';
    const count = summary.count ?? 0;
    const head =
      count === 0
        ? `none (policy ${policy}${checked ? `, ${checked}` : ''}${healed})`
        : `${count} field${count === 1 ? '' : 's'}: ${summary.liveVsFrozen ?? 0} live vs frozen, ${summary.declaredVsFrozen ?? 0} declared vs frozen (policy ${policy}${checked ? `, ${checked}` : ''}${healed})`;
    out.push(`Drift:       ${head}`);
    if (count > 0 && drift?.length) {
      const shown = drift.slice(0, MAX_DRIFT_ROWS);
      out.push(...driftEntriesTable(shown, now).trimEnd().split('\n').map((l) => `  ${l}`));
      if (drift.length > shown.length) out.push(`  … ${drift.length - shown.length} more: holdfast drift service/${service.metadata.name} -n ${service.metadata.namespace}`);
    }
  }
  out.push(...swarmTasksSection(live, now));
  return out;
}

function describeDeployment(d: DeploymentSummary, now: Date): string {
  const head = `${d.id} (revision ${d.revision}, generation ${d.generation}, trigger ${d.trigger})`;
  if (!isTerminalPhase(d.phase)) return `${head}: ${progressKey(d)}${d.startedAt ? `, started ${age(d.startedAt, now)} ago` : ''}`;
  const took = deploymentDuration(d, now);
  const when = d.finishedAt ? ` ${age(d.finishedAt, now)} ago` : '';
  const failedStep = d.steps.find((s) => s.status === 'failed');
  const why = [d.reason, d.message].filter(Boolean).join(': ');
  return `${head}: ${d.phase}${when}${took ? ` in ${took}` : ''}${why ? `: ${why}` : ''}${failedStep ? ` (step ${failedStep.name})` : ''}`;
}

function describeRef(ref: NonNullable<ReturnType<typeof serviceStatus>['currentDeployment']>, now: Date): string {
  const gen = ref.generation !== undefined ? ` (generation ${ref.generation})` : '';
  const when = ref.finishedAt ? ` ${age(ref.finishedAt, now)} ago` : ref.startedAt ? `, started ${age(ref.startedAt, now)} ago` : '';
  return `${ref.name}${gen}: ${ref.phase ?? 'unknown'}${when}`;
}

/** Reads what the sections show beyond the Service itself; what cannot be read is left out. */
export async function readServiceSections(client: HoldfastClient, service: Resource, now: Date): Promise<string[]> {
  const status = serviceStatus(service);
  const id = status.currentDeployment?.name;
  const [deployment, views] = await Promise.all([
    id ? (getDeployment(client, id) as Promise<DeploymentSummary>).catch(() => undefined) : undefined,
    getServiceViews(client, service.metadata.namespace ?? '', service.metadata.name).catch(() => undefined),
  ]);
  return serviceSections({ service, deployment, drift: views?.drift, live: views?.live, now });
}
