// Decoding the Engine API's streaming bodies from arbitrary chunk boundaries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonLinesDecoder, LogDemuxer, type LogChunk } from '../../../hosts/docker-streams.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

function splitEvery(data: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return parts;
}

const flatten = (chunks: LogChunk[]) => {
  const out: Record<string, string> = { stdout: '', stderr: '' };
  for (const c of chunks) out[c.stream] += c.data.toString();
  return out;
};

describe('JsonLinesDecoder', () => {
  const body = Buffer.from('{"status":"Pulling"}\n\n{"status":"Done","id":"ü"}\n{"error":"denied"}');
  for (const size of [1, 3, 7, body.length]) {
    it(`decodes the same values from ${size}-byte chunks (multi-byte characters split too)`, () => {
      const decoder = new JsonLinesDecoder();
      const values = splitEvery(body, size).flatMap((part) => decoder.push(part));
      values.push(...decoder.end());
      assert.deepEqual(values, [{ status: 'Pulling' }, { status: 'Done', id: 'ü' }, { error: 'denied' }]);
    });
  }
});

describe('LogDemuxer', () => {
  const multiplexed = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, 'out two\n'), frame(2, '')]);
  for (const size of [1, 5, 8, 9, multiplexed.length]) {
    it(`splits stdout and stderr frames from ${size}-byte chunks`, () => {
      for (const tty of [false, undefined]) {
        const demuxer = new LogDemuxer(tty);
        const chunks = splitEvery(multiplexed, size).flatMap((part) => demuxer.push(part));
        chunks.push(...demuxer.end());
        assert.deepEqual(flatten(chunks), { stdout: 'out one\nout two\n', stderr: 'err one\n' }, `tty=${tty}`);
      }
    });
  }

  it('passes a TTY container raw output through as stdout', () => {
    const demuxer = new LogDemuxer(true);
    assert.deepEqual(flatten([...demuxer.push(Buffer.from('\u0001 raw')), ...demuxer.end()]), { stdout: '\u0001 raw', stderr: '' });
  });

  it('recognises raw output when the TTY setting is unknown', () => {
    const demuxer = new LogDemuxer();
    const chunks = [...demuxer.push(Buffer.from('hel')), ...demuxer.push(Buffer.from('lo\n')), ...demuxer.end()];
    assert.deepEqual(flatten(chunks), { stdout: 'hello\n', stderr: '' });
  });
});
