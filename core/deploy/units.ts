// Sizes, durations and CPU counts as Docker, Compose and Kubernetes write them. Each parser returns
// undefined for a value it cannot read, so callers can say which field was wrong.

const BINARY_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * A size as Docker and Compose read it (go-units RAMInBytes): a number with an optional unit
 * b, k, m, g, t, p (any case, 1024-based), optionally followed by `b` or `ib`: `512m`, `1.5GB`, `64MiB`.
 */
export function parseDockerBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = match[2].toLowerCase();
  if (unit === '' && match[3] && match[3].toLowerCase() === 'ib') return undefined;
  return Math.floor(Number(match[1]) * BINARY_UNITS[unit]);
}

const K8S_UNITS: Record<string, number> = {
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
  K: 1000, M: 1000 ** 2, G: 1000 ** 3, T: 1000 ** 4,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4,
  b: 1, B: 1, '': 1,
};

/**
 * The Service's resources.memory: a number of bytes, or b, k, m, g (1024-based, as Docker reads
 * them), Ki, Mi, Gi (1024-based) and K, M, G (1000-based, as Kubernetes reads them).
 */
export function parseServiceMemory(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const match = /^([0-9]+(?:\.[0-9]+)?)([kKmMgGtT]i?|[bB])?$/.exec(value);
  if (!match) return undefined;
  const factor = K8S_UNITS[match[2] ?? ''];
  if (factor === undefined) return undefined;
  return Math.floor(Number(match[1]) * factor);
}

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as Compose writes them (`1m30s`, `500ms`, `10s`, `1.5h`) in milliseconds. */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const text = value.trim();
  if (text === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * DURATION_UNITS_MS[part[2]];
  return Math.round(total * 1e6) / 1e6;
}

/** A CPU count (`0.5`, `"1.25"`); undefined unless a positive finite number. */
export function parseCpus(value: string | number): number | undefined {
  const n = typeof value === 'number' ? value : /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** An integer written as a number or a decimal string. */
export function parseInteger(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  return /^\s*-?\d+\s*$/.test(value) ? Number(value) : undefined;
}

/** A file mode written as a number (compose reads it as octal digits when written 0440) or a string. */
export function parseFileMode(value: string | number): number | undefined {
  if (typeof value === 'number') {
    // YAML 1.2 reads `0440` as decimal 440: compose means octal, so read the digits as octal.
    const digits = String(value);
    return /^[0-7]{1,4}$/.test(digits) ? parseInt(digits, 8) : undefined;
  }
  const text = value.trim().replace(/^0o/i, '');
  return /^[0-7]{1,4}$/.test(text) ? parseInt(text, 8) : undefined;
}

/** Docker's (and Kubernetes') 1e9 NanoCpus per CPU. */
export const NANO_CPUS = 1e9;
