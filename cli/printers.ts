// Output shaped like kubectl's: aligned tables, human ages, -o json|yaml|name.
import { dump } from 'js-yaml';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION, GROUP, type KindInfo, type Resource } from '../core/resource.js';

/** kubectl's duration.HumanDuration: `45s`, `5m30s`, `3h`, `2d4h`, `400d`, `3y20d`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const d = Math.floor(hours / 24);
    return h === 0 ? `${d}d` : `${d}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Age of a timestamp as kubectl shows it; `<unknown>` when there is none. */
export function age(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return '<unknown>';
  return humanDuration(now.getTime() - at);
}

// kubectl's tabwriter: cells padded by 3, columns at least 6 wide, last column unpadded.
const CELL_PADDING = 3;
const MIN_COLUMN_WIDTH = 6;

/**
 * A table that remembers its column widths, so rows printed later (by --watch) line up with the
 * header printed first, as kubectl's tabwriter does with RememberWidths.
 */
export class TableWriter {
  private widths: number[] = [];

  constructor(private readonly write: (text: string) => void) {}

  print(rows: string[][]): void {
    for (const row of rows) {
      row.forEach((cell, i) => {
        if (i < row.length - 1) this.widths[i] = Math.max(this.widths[i] ?? 0, MIN_COLUMN_WIDTH, displayWidth(cell) + CELL_PADDING);
      });
    }
    for (const row of rows) {
      const line = row.map((cell, i) => (i < row.length - 1 ? cell + ' '.repeat(Math.max(0, this.widths[i] - displayWidth(cell))) : cell)).join('');
      this.write(line.trimEnd() + '\n');
    }
  }
}

export function renderTable(rows: string[][]): string {
  let out = '';
  new TableWriter((text) => (out += text)).print(rows);
  return out;
}

function displayWidth(text: string): number {
  return [...text].length;
}

/** `service.holdfast.dev/web`, as kubectl names custom resources. */
export function resourceName(obj: Pick<Resource, 'kind' | 'metadata'>): string {
  return `${kindQualifier(obj.kind)}/${obj.metadata.name}`;
}

/** `service.holdfast.dev` for kind Service. */
export function kindQualifier(kind: string): string {
  return `${kind.toLowerCase()}.${GROUP}`;
}

/** `services.holdfast.dev`, as Kubernetes names a resource type in messages. */
export function pluralQualifier(kind: KindInfo): string {
  return `${kind.plural}.${GROUP}`;
}

/** List items may omit apiVersion and kind (Kubernetes lists do); printed objects always carry them. */
export function withTypeMeta(obj: Resource, kind: KindInfo): Resource {
  const { apiVersion, kind: k, ...rest } = obj;
  return { apiVersion: apiVersion || API_VERSION, kind: k || kind.kind, ...rest } as Resource;
}

/** What `-o json|yaml` prints for several objects: a v1 `List`, as kubectl does. */
export function asList(items: Resource[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/** Keys sorted at every level, as kubectl prints objects (and as no store's key order is). */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function toYaml(value: unknown): string {
  // kubectl style: sorted keys, sequences not indented under their key, double quotes, no folding.
  return dump(sortKeysDeep(value), { seqNoIndent: true, lineWidth: -1, noRefs: true, quoteStyle: 'double' });
}

export function toJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value), null, 4) + '\n';
}

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

export function parseOutputFormat(text: string | undefined): OutputFormat {
  if (text === undefined || text === '') return 'table';
  if (text === 'wide' || text === 'json' || text === 'yaml' || text === 'name') return text;
  throw new HoldfastError('BadRequest', `unable to match a printer suitable for the output format "${text}", allowed formats are: json,name,wide,yaml`);
}
