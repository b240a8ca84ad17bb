// What `holdfast drift` and `holdfast diff --live` print: drifted services, one service's drift
// entries, and the frozen input against what runs as a unified diff of YAML. Pure.
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import type { Resource } from '../core/resource.js';
import { serviceStatus, type DriftEntry } from './deployments-api.js';
import { diffFileName } from './object-diff.js';
import { age, renderTable, toYaml } from './printers.js';

const NONE = '<none>';
const VALUE_WIDTH = 48;

export interface DriftedService {
  namespace: string;
  name: string;
  count: number;
  liveVsFrozen: number;
  declaredVsFrozen: number;
  policy: string;
  lastCheckedTime?: string;
}

/** Services whose status counts drift, in (namespace, name) order. */
export function driftedServices(services: readonly Resource[]): DriftedService[] {
  return services
    .map((s) => {
      const drift = serviceStatus(s).drift ?? {};
      const policy = ((s.spec as { driftPolicy?: { mode?: string } } | undefined)?.driftPolicy?.mode ?? 'report') as string;
      return {
        namespace: s.metadata.namespace ?? '',
        name: s.metadata.name,
        count: drift.count ?? 0,
        liveVsFrozen: drift.liveVsFrozen ?? 0,
        declaredVsFrozen: drift.declaredVsFrozen ?? 0,
        policy,
        ...(drift.lastCheckedTime ? { lastCheckedTime: drift.lastCheckedTime } : {}),
      };
    })
    .filter((d) => d.count > 0)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export function driftedServicesTable(items: readonly DriftedService[], now: Date, showNamespace: boolean): string {
  const header = [...(showNamespace ? ['NAMESPACE'] : []), 'NAME', 'DRIFT', 'LIVE-VS-FROZEN', 'DECLARED-VS-FROZEN', 'POLICY', 'CHECKED'];
  const rows = items.map((d) => [
    ...(showNamespace ? [d.namespace] : []),
    `service/${d.name}`,
    String(d.count),
    String(d.liveVsFrozen),
    String(d.declaredVsFrozen),
    d.policy,
    d.lastCheckedTime ? `${age(d.lastCheckedTime, now)} ago` : NONE,
  ]);
  return renderTable([header, ...rows]);
}

/** Live-vs-frozen first (what changed on the host), then declared-vs-frozen; by path within each. */
export function sortDrift(entries: readonly DriftEntry[]): DriftEntry[] {
  const rank = (e: DriftEntry) => (e.source === 'live-vs-frozen' ? 0 : 1);
  return [...entries].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
}

export function driftEntriesTable(entries: readonly DriftEntry[], now: Date): string {
  const header = ['SOURCE', 'PATH', 'KIND', 'EXPECTED', 'ACTUAL', 'FIRST SEEN', 'LAST SEEN'];
  const rows = sortDrift(entries).map((e) => [
    e.source,
    e.path,
    e.kind,
    driftValue(e.expected),
    driftValue(e.actual),
    e.firstSeen ? `${age(e.firstSeen, now)} ago` : NONE,
    e.lastSeen ? `${age(e.lastSeen, now)} ago` : NONE,
  ]);
  return renderTable([header, ...rows]);
}

/** A value in one table cell: strings bare, anything else as compact JSON, long values cut. */
export function driftValue(value: unknown): string {
  if (value === undefined || value === null) return NONE;
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).replace(/\s+/g, ' ');
  return text.length > VALUE_WIDTH ? text.slice(0, VALUE_WIDTH - 1) + '…' : text;
}

/**
 * The frozen input against the live view as a unified diff of YAML (keys sorted, so order is never a
 * difference), with kubectl-like file names; '' when they do not differ.
 */
export function liveDiff(service: { namespace: string; name: string }, frozen: unknown, live: unknown): string {
  const frozenText = yamlOf(frozen);
  const liveText = yamlOf(live);
  if (frozenText === liveText) return '';
  const file = diffFileName({ kind: 'Service', metadata: { name: service.name, namespace: service.namespace } });
  const frozenPath = `/tmp/FROZEN/${file}`;
  const livePath = `/tmp/LIVE/${file}`;
  const patch = createTwoFilesPatch(frozenPath, livePath, frozenText, liveText, undefined, undefined, { headerOptions: FILE_HEADERS_ONLY, context: 3 });
  return `diff -u -N ${frozenPath} ${livePath}\n${patch}`;
}

function yamlOf(value: unknown): string {
  return value === undefined || value === null ? '' : toYaml(value);
}
