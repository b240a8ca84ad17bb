import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatContainerLogLine, LogLineSplitter, MAX_LINE_CHARS, resumeSince, type ContainerLogLine } from '../../../core/logs/log-lines.js';

const T1 = '2026-12-04T10:00:00.123456789Z';
const T2 = '2026-12-04T10:00:01.000000001Z';

describe('LogLineSplitter', () => {
  it('joins chunks into lines per stream and takes the timestamps off', () => {
    const s = new LogLineSplitter();
    const got: ContainerLogLine[] = [];
    got.push(...s.push('stdout', Buffer.from(`${T1} hel`)));
    got.push(...s.push('stderr', Buffer.from(`${T1} oops\n`)));
    got.push(...s.push('stdout', Buffer.from(`lo\r\n${T2} wor`)));
    got.push(...s.end());
    assert.deepEqual(got, [
      { time: T1, stream: 'stderr', text: 'oops' },
      { time: T1, stream: 'stdout', text: 'hello' },
      { time: T2, stream: 'stdout', text: 'wor' },
    ]);
  });

  it('keeps a multi-byte character split across chunks whole', () => {
    const s = new LogLineSplitter();
    const bytes = Buffer.from('héllo\n');
    assert.deepEqual([...s.push('stdout', bytes.subarray(0, 2)), ...s.push('stdout', bytes.subarray(2))], [{ stream: 'stdout', text: 'héllo' }]);
  });

  it('cuts an endless line into bounded pieces instead of buffering it', () => {
    const s = new LogLineSplitter();
    const lines = s.push('stdout', Buffer.from('x'.repeat(MAX_LINE_CHARS * 2 + 10)));
    assert.deepEqual(lines.map((l) => l.text.length), [MAX_LINE_CHARS, MAX_LINE_CHARS]);
    assert.deepEqual(s.end().map((l) => l.text.length), [10]);
  });
});

describe('formatContainerLogLine', () => {
  const line: ContainerLogLine = { time: T1, stream: 'stdout', text: 'ready' };
  const cases: Array<[string, Parameters<typeof formatContainerLogLine>[1], string]> = [
    ['plain', {}, 'ready\n'],
    ['prefixed', { label: 'web-1' }, '[web-1] ready\n'],
    ['with timestamps', { timestamps: true }, `${T1} ready\n`],
    ['both', { label: 'db-2', timestamps: true }, `[db-2] ${T1} ready\n`],
  ];
  for (const [name, format, want] of cases) it(name, () => assert.equal(formatContainerLogLine(line, format), want));
});

describe('resumeSince', () => {
  const cases: Array<[string, string | undefined]> = [
    [T1, '1796378400.123456790'],
    ['2026-12-04T10:00:00.999999999Z', '1796378401.000000000'],
    ['2026-12-04T10:00:00Z', '1796378400.000000001'],
    ['2026-12-04T11:00:00.5+01:00', '1796378400.500000001'],
    ['yesterday', undefined],
  ];
  for (const [time, want] of cases) it(`${time} → ${want}`, () => assert.equal(resumeSince(time), want));
});
