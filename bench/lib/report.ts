// The benchmark's result table: one row per figure, medians of the repeated samples, ratios against
// the compose baselines, and the target the figure is held to. Printed as text and, on request, as
// Markdown and JSON (what bench/RESULTS.md is written from).
import { median, quantile, ratio } from './stats.js';

export type Unit = 'ms' | 's' | 'MB' | '%' | 'count';

export interface Target {
  /** Human wording, e.g. "≤ 1.5× compose (local)". */
  text: string;
  met: boolean;
}

export interface Row {
  section: string;
  /** What was measured, e.g. "cold converge, 10 services". */
  what: string;
  tool: string;
  unit: Unit;
  samples: number[];
  /** Shown instead of the median when set (e.g. a p99 another script computed). */
  value?: number;
  /** How many measurements `value` stands for, when it is not the median of `samples`. */
  n?: number;
  /** Median ratio against compose on the host socket / over SSH, when the same figure exists for it. */
  vsLocal?: number;
  vsSsh?: number;
  target?: Target;
  note?: string;
}

export interface Report {
  startedAt: string;
  finishedAt?: string;
  machine: Record<string, string>;
  options: Record<string, unknown>;
  rows: Row[];
  notes: string[];
}

export function valueOf(row: Row): number | undefined {
  return row.value ?? median(row.samples);
}

/** Fills vsLocal / vsSsh of every row from the compose rows of the same section and figure. */
export function addRatios(rows: Row[], labels: { local: string; ssh: string }): void {
  for (const row of rows) {
    if (row.tool === labels.local || row.tool === labels.ssh) continue;
    const peer = (tool: string) => rows.find((r) => r.section === row.section && r.what === row.what && r.tool === tool);
    const local = peer(labels.local);
    const ssh = peer(labels.ssh);
    if (local) row.vsLocal = ratio(valueOf(row), valueOf(local));
    if (ssh) row.vsSsh = ratio(valueOf(row), valueOf(ssh));
  }
}

export function formatValue(value: number | undefined, unit: Unit): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  switch (unit) {
    case 'ms':
      return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value < 10 ? 1 : 0)} ms`;
    case 's':
      return `${value.toFixed(1)} s`;
    case 'MB':
      return `${value.toFixed(0)} MB`;
    case '%':
      return `${value.toFixed(1)} %`;
    case 'count':
      return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
}

function formatRatio(r: number | undefined): string {
  if (r === undefined) return '';
  return r >= 10 ? `${r.toFixed(0)}×` : r >= 0.1 ? `${r.toFixed(2)}×` : `${r.toFixed(3)}×`;
}

function spread(row: Row): string {
  if (row.samples.length < 2 || row.value !== undefined) return '';
  const lo = quantile(row.samples, 0);
  const hi = quantile(row.samples, 1);
  return `${formatValue(lo, row.unit)} – ${formatValue(hi, row.unit)}`;
}

const HEADER = ['section', 'figure', 'tool', 'n', 'median', 'range', 'vs compose local', 'vs compose ssh', 'target', 'met'];

function cells(row: Row): string[] {
  return [
    row.section,
    row.what,
    row.tool,
    String(row.n ?? row.samples.length),
    formatValue(valueOf(row), row.unit),
    spread(row),
    formatRatio(row.vsLocal),
    formatRatio(row.vsSsh),
    row.target?.text ?? '',
    row.target ? (row.target.met ? 'yes' : 'NO') : '',
  ];
}

export function renderText(rows: Row[]): string {
  const lines = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const numeric = new Set([3, 4, 6, 7]);
  const fmt = (c: string[]) => c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [fmt(HEADER), widths.map((w) => '-'.repeat(w)).join('  ')];
  let section = '';
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.section !== section && i > 0) out.push('');
    section = rows[i]!.section;
    out.push(fmt(lines[i]!));
  }
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.what} (${r.tool}): ${r.note}`);
  if (notes.length) out.push('', 'notes:', ...notes);
  return out.join('\n') + '\n';
}

export function renderMarkdown(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [`| ${HEADER.join(' | ')} |`, `| ${HEADER.map((_, i) => ([3, 4, 6, 7].includes(i) ? '---:' : '---')).join(' | ')} |`];
  for (const row of rows) out.push(`| ${cells(row).map(esc).join(' | ')} |`);
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.what} (${r.tool}): ${r.note}`);
  return out.join('\n') + '\n' + (notes.length ? '\n' + notes.join('\n') + '\n' : '');
}
