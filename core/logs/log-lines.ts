// Container log chunks into whole lines, and lines into what a reader sees. Pure.
//
// The engine is always asked for timestamps: they order the lines of several replicas, and let a
// follow that resumes after a restart start where it left off. Whether the reader sees them is a
// formatting choice.

export type LogStreamName = 'stdout' | 'stderr';

export interface ContainerLogLine {
  /** RFC 3339 with nanoseconds, as the engine writes it (fixed width, so it sorts as text). */
  time?: string;
  stream: LogStreamName;
  text: string;
}

/** Longer lines are cut into pieces of this many characters, so one endless line cannot grow a buffer without bound. */
export const MAX_LINE_CHARS = 64 * 1024;

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;

/** Splits one container's stdout and stderr chunks into lines, each with the engine's timestamp taken off. */
export class LogLineSplitter {
  readonly #pending: Record<LogStreamName, string> = { stdout: '', stderr: '' };
  readonly #decoders: Record<LogStreamName, TextDecoder> = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  push(stream: LogStreamName, chunk: Uint8Array): ContainerLogLine[] {
    const text = this.#pending[stream] + this.#decoders[stream].decode(chunk, { stream: true });
    const parts = text.split('\n');
    let rest = parts.pop() ?? '';
    const lines = parts.map((part) => parseLine(stream, part));
    while (rest.length > MAX_LINE_CHARS) {
      lines.push(parseLine(stream, rest.slice(0, MAX_LINE_CHARS)));
      rest = rest.slice(MAX_LINE_CHARS);
    }
    this.#pending[stream] = rest;
    return lines;
  }

  /** What is left when the stream ends: a last line without a newline. */
  end(): ContainerLogLine[] {
    const lines: ContainerLogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.#pending[stream] + this.#decoders[stream].decode();
      this.#pending[stream] = '';
      if (rest !== '') lines.push(parseLine(stream, rest));
    }
    return lines;
  }
}

function parseLine(stream: LogStreamName, raw: string): ContainerLogLine {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const match = TIMESTAMP.exec(text);
  return match ? { time: match[1], stream, text: text.slice(match[0].length) } : { stream, text };
}

export interface LineFormat {
  /** `[web-1] ` before each line, as `docker compose logs` and `kubectl logs --prefix` do. */
  label?: string;
  timestamps?: boolean;
}

/** One line as text output shows it, newline included. */
export function formatContainerLogLine(line: ContainerLogLine, format: LineFormat): string {
  const prefix = format.label ? `[${format.label}] ` : '';
  const time = format.timestamps && line.time ? `${line.time} ` : '';
  return `${prefix}${time}${line.text}\n`;
}

/**
 * The `since` to resume a follow after a line stamped `time`: one nanosecond later, as Unix seconds
 * with nanoseconds in a string (a JavaScript number cannot hold them).
 */
export function resumeSince(time: string): string | undefined {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const nanos = BigInt(Math.floor(seconds / 1000)) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0').slice(0, 9) || '0') + 1n;
  const whole = nanos / 1_000_000_000n;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${whole}.${fraction}`;
}
