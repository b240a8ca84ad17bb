// `holdfast describe` output, laid out as kubectl describes custom resources: identity lines, then
// Metadata, Spec and Status as indented "Title Case" fields, conditions and events as tables. Pure.
import type { Condition, KindInfo, Resource } from '../core/resource.js';
import { eventLastSeen, secretKeys } from './columns.js';
import { age, renderTable } from './printers.js';

const ACRONYMS: Record<string, string> = { api: 'API', uid: 'UID', url: 'URL', ssh: 'SSH', id: 'ID', ip: 'IP', http: 'HTTP', https: 'HTTPS', tcp: 'TCP', udp: 'UDP', cpu: 'CPU', cpus: 'CPUs', os: 'OS', ipvs: 'IPVS', dns: 'DNS' };

/** `creationTimestamp` → `Creation Timestamp`, `apiVersion` → `API Version`, as kubectl prints field names. */
export function titleCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => ACRONYMS[w.toLowerCase()] ?? w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

export interface DescribeInput {
  object: Resource;
  kind: KindInfo;
  /** Events about the object; undefined when they could not be listed. */
  events?: Resource[];
  now: Date;
  /** Status fields a section below shows instead (e.g. a Service's deployment and drift). */
  omitStatus?: readonly string[];
  /** Kind-specific sections, printed after Status and before Events. */
  sections?: readonly string[];
}

export function describeObject({ object, kind, events, now, omitStatus = [], sections = [] }: DescribeInput): string {
  const lines: string[] = [];
  const meta = object.metadata;
  lines.push(topLine('Name:', meta.name));
  if (kind.namespaced) lines.push(topLine('Namespace:', meta.namespace ?? ''));
  lines.push(...keyValueBlock('Labels:', meta.labels));
  lines.push(...keyValueBlock('Annotations:', meta.annotations));
  lines.push(topLine('API Version:', object.apiVersion), topLine('Kind:', object.kind));

  const serverMeta: Record<string, unknown> = {};
  for (const key of ['creationTimestamp', 'deletionTimestamp', 'finalizers', 'generation', 'ownerReferences', 'resourceVersion', 'uid'] as const) {
    if (meta[key] !== undefined && meta[key] !== null) serverMeta[key] = meta[key];
  }
  lines.push('Metadata:', ...fields(serverMeta, 1));

  if (kind.writeOnly && kind.kind === 'Secret') {
    const { data: _data, stringData: _stringData, ...rest } = (object.spec ?? {}) as Record<string, unknown>;
    if (Object.keys(rest).length) lines.push('Spec:', ...fields(rest, 1));
    const keys = secretKeys(object);
    lines.push('Data:', ...(keys.length ? keys.map((k) => `  ${k}`) : ['  <none>']));
  } else if (kind.hasSpec) {
    if (object.spec && Object.keys(object.spec).length) lines.push('Spec:', ...fields(object.spec, 1));
  } else {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(object)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) body[k] = v;
    lines.push(...fields(body, 0));
  }

  if (object.status && Object.keys(object.status).length) {
    const { conditions, ...rest } = object.status;
    for (const key of omitStatus) delete rest[key];
    lines.push('Status:');
    if (conditions?.length) lines.push('  Conditions:', ...conditionsTable(conditions, now, '    '));
    lines.push(...fields(rest, 1));
  }
  for (const section of sections) lines.push(section.replace(/\n$/, ''));

  if (kind.kind !== 'Event') {
    if (events === undefined) lines.push('Events:  <unable to list events>');
    else if (events.length === 0) lines.push('Events:  <none>');
    else lines.push('Events:', ...eventsTable(events, now, '  '));
  }
  return lines.join('\n') + '\n';
}

// The identity lines share one value column, wide enough for the longest title ("Annotations:").
const TOP_WIDTH = 'Annotations:'.length + 2;

function topLine(title: string, value: string): string {
  return `${title.padEnd(TOP_WIDTH)}${value}`.trimEnd();
}

/** `Labels:       app=web` with further pairs aligned under the first, `<none>` when empty. */
function keyValueBlock(title: string, map: Record<string, string> | undefined): string[] {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return [topLine(title, '<none>')];
  return entries.map(([k, v], i) => `${(i === 0 ? title : '').padEnd(TOP_WIDTH)}${k}=${v}`);
}

/** Nested fields as kubectl's generic describer prints them: sorted keys, aligned values. */
function fields(value: Record<string, unknown>, depth: number): string[] {
  const indent = '  '.repeat(depth);
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  const scalarKeys = keys.filter((k) => isScalar(value[k]));
  const width = scalarKeys.length ? Math.max(...scalarKeys.map((k) => titleCase(k).length + 1)) + 2 : 0;
  const lines: string[] = [];
  for (const key of keys) {
    const v = value[key];
    const label = `${titleCase(key)}:`;
    if (isScalar(v)) lines.push(`${indent}${label.padEnd(width)}${scalarText(v)}`.trimEnd());
    else if (Array.isArray(v)) {
      if (v.length === 0) lines.push(`${indent}${label.padEnd(width)}<none>`.trimEnd());
      else {
        lines.push(`${indent}${label}`);
        for (const item of v) {
          if (isScalar(item)) lines.push(`${indent}  ${scalarText(item)}`);
          else if (Array.isArray(item)) lines.push(`${indent}  ${JSON.stringify(item)}`);
          else lines.push(...fields(item as Record<string, unknown>, depth + 1));
        }
      }
    } else {
      const nested = v as Record<string, unknown>;
      if (Object.keys(nested).length === 0) lines.push(`${indent}${label}`);
      else lines.push(`${indent}${label}`, ...fields(nested, depth + 1));
    }
  }
  return lines;
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function scalarText(v: unknown): string {
  if (v === null) return '<nil>';
  return String(v);
}

function conditionsTable(conditions: Condition[], now: Date, indent: string): string[] {
  const rows = [
    ['Type', 'Status', 'Reason', 'Age', 'Message'],
    ['----', '------', '------', '---', '-------'],
    ...conditions.map((c) => [c.type, c.status, c.reason || '', c.lastTransitionTime ? age(c.lastTransitionTime, now) : '', c.message || '']),
  ];
  return tableLines(rows, indent);
}

function eventsTable(events: Resource[], now: Date, indent: string): string[] {
  const rows = [
    ['Type', 'Reason', 'Age', 'From', 'Message'],
    ['----', '------', '----', '----', '-------'],
    ...events.map((e) => {
      const count = typeof e.count === 'number' ? e.count : 1;
      const first = (e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp) as string | undefined;
      const seen = age(eventLastSeen(e), now);
      const when = count > 1 && first ? `${seen} (x${count} over ${age(first, now)})` : seen;
      const source = (e.source ?? {}) as { component?: string };
      const from = source.component ?? (e.reportingController as string | undefined) ?? '';
      return [String(e.type ?? ''), String(e.reason ?? ''), when, from, String(e.message ?? '')];
    }),
  ];
  return tableLines(rows, indent);
}

function tableLines(rows: string[][], indent: string): string[] {
  return renderTable(rows)
    .trimEnd()
    .split('\n')
    .map((l) => indent + l);
}
