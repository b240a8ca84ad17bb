// Decoders for the Engine API's streaming bodies: newline-delimited JSON (events, pull and build
// progress) and the multiplexed stdout/stderr framing of container logs. Pure: fed with chunks.

/** Splits a byte stream into JSON values, one per line; blank lines are skipped. */
export class JsonLinesDecoder {
  #pending = '';
  readonly #decoder = new TextDecoder();

  /** Returns the complete values in `chunk`; a trailing partial line waits for the next chunk. */
  push(chunk: Uint8Array): unknown[] {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    const lines = this.#pending.split('\n');
    this.#pending = lines.pop() ?? '';
    return lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
  }

  /** The last value if the stream ended without a newline. */
  end(): unknown[] {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = '';
    return rest.trim() === '' ? [] : [JSON.parse(rest)];
  }
}

export type LogStream = 'stdin' | 'stdout' | 'stderr';

export interface LogChunk {
  stream: LogStream;
  data: Buffer;
}

const STREAMS: LogStream[] = ['stdin', 'stdout', 'stderr'];
const HEADER = 8;

/**
 * Docker's log framing for containers without a TTY: an 8-byte header (stream byte, three zero bytes,
 * big-endian payload length) before each payload. With a TTY the body is the raw output, reported as
 * stdout. `tty: undefined` decides from the first bytes.
 */
export class LogDemuxer {
  #buffer: Buffer = Buffer.alloc(0);
  #multiplexed: boolean | undefined;

  constructor(tty?: boolean) {
    this.#multiplexed = tty === undefined ? undefined : !tty;
  }

  push(chunk: Buffer): LogChunk[] {
    if (this.#multiplexed === false) return chunk.length > 0 ? [{ stream: 'stdout', data: chunk }] : [];
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#multiplexed === undefined) {
      if (this.#buffer.length < 4) return [];
      this.#multiplexed = looksMultiplexed(this.#buffer);
      if (!this.#multiplexed) {
        const raw = this.#buffer;
        this.#buffer = Buffer.alloc(0);
        return [{ stream: 'stdout', data: raw }];
      }
    }
    const chunks: LogChunk[] = [];
    while (this.#buffer.length >= HEADER) {
      const length = this.#buffer.readUInt32BE(4);
      if (this.#buffer.length < HEADER + length) break;
      chunks.push({ stream: STREAMS[this.#buffer[0]!] ?? 'stdout', data: this.#buffer.subarray(HEADER, HEADER + length) });
      this.#buffer = this.#buffer.subarray(HEADER + length);
    }
    return chunks;
  }

  /** Bytes left over when the stream ended (a cut frame, or raw output shorter than a header). */
  end(): LogChunk[] {
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    if (rest.length === 0) return [];
    if (this.#multiplexed) return rest.length > HEADER ? [{ stream: STREAMS[rest[0]!] ?? 'stdout', data: rest.subarray(HEADER) }] : [];
    return [{ stream: 'stdout', data: rest }];
  }
}

function looksMultiplexed(bytes: Buffer): boolean {
  return bytes[0]! <= 2 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0;
}
