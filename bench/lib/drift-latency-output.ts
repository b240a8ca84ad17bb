// Reads the figures out of bench/drift-latency.ts's output, which the runner calls as it is: a line
// of JSON with median and p99 fields if it prints one, else "median … ms" / "p99 … ms" in its text.

export interface DriftLatencyFigures {
  medianMs?: number;
  p99Ms?: number;
  samples?: number;
}

function toMs(value: number, key: string): number {
  return /seconds|_s$|Sec$/i.test(key) && !/ms/i.test(key) ? value * 1000 : value;
}

function fromJson(node: unknown, found: DriftLatencyFigures): void {
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (typeof value === 'number') {
      if (/median|p50/i.test(key) && found.medianMs === undefined) found.medianMs = toMs(value, key);
      else if (/p99/i.test(key) && found.p99Ms === undefined) found.p99Ms = toMs(value, key);
      else if (/^(samples|changes|count|n)$/i.test(key) && found.samples === undefined) found.samples = value;
    } else if (typeof value === 'object') {
      fromJson(value, found);
    }
  }
}

export function parseDriftLatencyOutput(text: string): DriftLatencyFigures {
  const found: DriftLatencyFigures = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) continue;
    try {
      fromJson(JSON.parse(trimmed), found);
    } catch {
      // not a JSON line
    }
  }
  const figure = (name: RegExp): number | undefined => {
    const m = new RegExp(`(?:${name.source})[^\\d\\n]{0,40}?(\\d+(?:\\.\\d+)?)\\s*(ms|s)\\b`, 'i').exec(text);
    if (!m) return undefined;
    return m[2]!.toLowerCase() === 's' ? Number(m[1]) * 1000 : Number(m[1]);
  };
  return { medianMs: found.medianMs ?? figure(/median|p50/), p99Ms: found.p99Ms ?? figure(/p99/), samples: found.samples };
}
