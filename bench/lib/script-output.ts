// Reads the figures out of the other bench scripts' output; the runner calls them as they are.
// bench/drift-latency.ts: its last line is JSON, named series `{ medianMs, p99Ms, samples }`
// (driftDetection first, the headline) and the heal times; without such a line, "median … ms" /
// "p99 … ms" in its text are read instead. bench/observe-cost.ts: its table. bench/replicas.ts: its
// last line, JSON, the figures per replica count.
import type { SelfTime } from './cpu-profile.js';

export interface LatencySeries {
  /** The JSON key (e.g. driftDetection), or "text" when read from prose. */
  name: string;
  medianMs?: number;
  p99Ms?: number;
  samples?: number;
}

export interface DriftLatencyFigures {
  series: LatencySeries[];
  /** Kill → running again, per heal run (ms). */
  healRunningMs?: number[];
  /** Kill → no drift left in the API, per heal run (ms). */
  healResolvedMs?: number[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const nums = (v: unknown): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined);

function fromJson(doc: Record<string, unknown>): DriftLatencyFigures | undefined {
  const series: LatencySeries[] = [];
  for (const [name, value] of Object.entries(doc)) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
    const v = value as Record<string, unknown>;
    const medianMs = num(v.medianMs);
    const p99Ms = num(v.p99Ms);
    if (medianMs !== undefined || p99Ms !== undefined) series.push({ name, medianMs, p99Ms, samples: num(v.samples) });
  }
  const heal = doc.heal as Record<string, unknown> | undefined;
  const healRunningMs = nums(heal?.runningAgainMs);
  const healResolvedMs = nums(heal?.resolvedInApiMs);
  if (series.length === 0 && !healRunningMs) return undefined;
  return { series, ...(healRunningMs ? { healRunningMs } : {}), ...(healResolvedMs ? { healResolvedMs } : {}) };
}

export function parseDriftLatencyOutput(text: string): DriftLatencyFigures {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      const found = fromJson(JSON.parse(line) as Record<string, unknown>);
      if (found) return found;
    } catch {
      // not a JSON line
    }
  }
  const figure = (name: RegExp): number | undefined => {
    const m = new RegExp(`(?:${name.source})[^\\d\\n]{0,40}?(\\d+(?:\\.\\d+)?)\\s*(ms|s)\\b`, 'i').exec(text);
    if (!m) return undefined;
    return m[2]!.toLowerCase() === 's' ? Number(m[1]) * 1000 : Number(m[1]);
  };
  const medianMs = figure(/median|p50/);
  const p99Ms = figure(/p99/);
  return { series: medianMs !== undefined || p99Ms !== undefined ? [{ name: 'text', medianMs, p99Ms }] : [] };
}

export interface ObserveCostRow {
  host: string;
  method: string;
  calls: number;
  medianMs: number;
  p90Ms: number;
}

/** The rows of bench/observe-cost.ts's table (columns separated by two or more spaces). */
export function parseObserveCostOutput(text: string): ObserveCostRow[] {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => /^host\s{2,}method\s{2,}calls\s{2,}median ms/.test(l));
  if (header < 0) return [];
  const rows: ObserveCostRow[] = [];
  for (const line of lines.slice(header + 2)) {
    const cells = line.trim().split(/\s{2,}/);
    if (cells.length < 5) continue;
    const [host, method, calls, median, p90] = cells;
    const numbers = [Number(calls), Number(median), Number(p90)];
    if (numbers.some((n) => !Number.isFinite(n))) continue;
    rows.push({ host: host!, method: method!, calls: numbers[0]!, medianMs: numbers[1]!, p90Ms: numbers[2]! });
  }
  return rows;
}

/** What bench/replicas.ts measured for one replica count. */
export interface ReplicaFigures {
  replicas: number;
  store: 'postgres' | 'embedded';
  /** With one replica: the top functions by self time over the steady window. */
  profile?: SelfTime[];
  /** With the first replica count: the running Services created until Ready, and declaring the rest. */
  coldMs?: number;
  declareMs?: number;
  /** A rollout of every running Service at once, until all are Ready again. */
  convergedPerSecond: number;
  convergeMs: number;
  /** Per replica, over the steady window with every Service declared. */
  cpuPercent: number[];
  /** RSS per replica, sampled each second over the steady window: the median, and the highest. */
  rssMb: number[];
  rssMaxMb: number[];
  /** Reconciles of Services (service and drift controllers) per minute, all replicas together. */
  reconcilesPerMinute: number;
  /** Reconciles over the steady window per controller, all replicas together. */
  reconcilesByController?: Record<string, number>;
  /** On PostgreSQL: transactions the database committed a minute over the steady window, all replicas together. */
  databaseCommitsPerMinute?: number;
  /** With one replica: the heap summed by what holds it (constructor or type), largest first. */
  heap?: Array<{ what: string; mb: number; count: number }>;
  /** With one replica: process.memoryUsage() and V8's heap spaces after a full GC, in MB. */
  memoryMb?: Record<string, number>;
  /** kill -9 of a shard's holder until another replica holds it; absent for one replica. */
  takeoverMs?: number;
  loadAverage: string;
}

export interface ReplicasOutput {
  declared: number;
  running: number;
  steadySeconds: number;
  leaseSeconds: number;
  renewSeconds: number;
  replicas: ReplicaFigures[];
}

/** The figures of bench/replicas.ts: its last JSON line that has a `replicas` list; undefined without one. */
export function parseReplicasOutput(text: string): ReplicasOutput | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      const doc = JSON.parse(line) as ReplicasOutput;
      if (Array.isArray(doc.replicas)) return doc;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}
