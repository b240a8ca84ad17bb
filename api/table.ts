// Server-side printing (meta.k8s.io/v1 Table), as kube-apiserver does for custom resources: the
// columns are the CRD's additionalPrinterColumns, so kubectl shows the same columns as the CRD
// declares, here and in a real cluster.
import type { Request } from 'express';
import type { Resource } from '../core/resource.js';
import { crdFor } from '../core/schema/validate.js';

interface Column {
  name: string;
  type: string;
  jsonPath?: string;
  description?: string;
  priority?: number;
  format?: string;
}

const NAME_COLUMN: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const AGE_COLUMN: Column = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };

/** True when the client asked for a Table (kubectl get does). */
export function wantsTable(req: Request): boolean {
  return /as=Table/.test(req.get('accept') ?? '');
}

export function toTable(kind: string, items: Resource[], listMeta: { resourceVersion?: string; continue?: string }, now = new Date()) {
  const declared = crdFor(kind)?.spec.versions[0]?.additionalPrinterColumns ?? [AGE_COLUMN];
  const columns: Column[] = [NAME_COLUMN, ...declared];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type === 'date' ? 'string' : c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: items.map((obj) => ({
      cells: columns.map((c) => (c === NAME_COLUMN ? obj.metadata.name : cell(obj, c, now))),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata },
    })),
  };
}

function cell(obj: Resource, column: Column, now: Date): unknown {
  const value = readJsonPath(obj, column.jsonPath ?? '');
  if (value === undefined || value === null) return '<none>';
  if (column.type === 'date') return shortAge(now.getTime() - Date.parse(String(value)));
  return typeof value === 'object' ? JSON.stringify(value) : value;
}

/** The simple `.a.b.c` paths printer columns use. */
function readJsonPath(obj: unknown, path: string): unknown {
  let v: unknown = obj;
  for (const part of path.split('.').filter(Boolean)) {
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  }
  return v;
}

/** kubectl's short ages: 45s, 3m, 5h, 12d, 2y. */
export function shortAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
