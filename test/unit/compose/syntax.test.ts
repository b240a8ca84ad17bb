import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateString } from '../../../core/compose/interpolate.js';
import { parseDotenv } from '../../../core/compose/dotenv.js';
import { parseExpose, parseShortPort } from '../../../core/compose/ports.js';
import { splitShellWords } from '../../../core/compose/values.js';

describe('interpolateString', () => {
  const vars: Record<string, string> = { NAME: 'web', EMPTY: '', PORT: '8080' };
  const lookup = (n: string) => vars[n];
  const cases: Array<[string, string]> = [
    ['$NAME', 'web'],
    ['${NAME}-1', 'web-1'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${MISSING-fallback}', 'fallback'],
    ['${NAME:+set}', 'set'],
    ['${EMPTY:+set}', ''],
    ['${EMPTY+set}', 'set'],
    ['${MISSING:-${PORT}}', '8080'],
    ['${MISSING:-${ALSO_MISSING:-deep}}', 'deep'],
    ['$$NAME', '$NAME'],
    ['cost $ 5', 'cost $ 5'],
    ['${secret:db/password}', '${secret:db/password}'],
    ['a${NAME}b$PORT/c', 'awebb8080/c'],
  ];
  for (const [input, expected] of cases) it(`${input} → ${expected}`, () => assert.equal(interpolateString(input, lookup, () => {}), expected));
  it('reports a missing variable and fails a required one', () => {
    const missing: string[] = [];
    assert.equal(interpolateString('${NOPE}', lookup, (n) => missing.push(n)), '');
    assert.deepEqual(missing, ['NOPE']);
    assert.throws(() => interpolateString('${NOPE:?tell me}', lookup, () => {}), /required variable NOPE is missing a value: tell me/);
    assert.throws(() => interpolateString('${NAME', lookup, () => {}), /missing "}"/);
    assert.throws(() => interpolateString('${1BAD}', lookup, () => {}), /invalid interpolation format/);
  });
});

describe('parseDotenv', () => {
  it('reads a realistic env file', () => {
    const text = [
      '# comment',
      '',
      'PLAIN=value',
      'export EXPORTED=yes',
      'SPACED = around ',
      "SINGLE='keep ${PLAIN} as is'",
      'DOUBLE="line1\\nline2 ${PLAIN}"',
      'MULTI="first',
      'second"',
      'INLINE=value # comment',
      'HASH=a#b',
      'REF=${PLAIN}-x',
      'FROM_ENV',
      'EMPTY=',
    ].join('\n');
    assert.deepEqual(parseDotenv(text, (n) => (n === 'FROM_ENV' ? 'outside' : undefined)), {
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'around',
      SINGLE: 'keep ${PLAIN} as is',
      DOUBLE: 'line1\nline2 value',
      MULTI: 'first\nsecond',
      INLINE: 'value',
      HASH: 'a#b',
      REF: 'value-x',
      FROM_ENV: 'outside',
      EMPTY: '',
    });
  });
  it('names the line of a mistake', () => {
    assert.throws(() => parseDotenv('A=1\nB="open', () => undefined), /line 2: unterminated double-quoted value of B/);
    assert.throws(() => parseDotenv('1A=x', () => undefined), /line 1: "1A" is not a valid variable name/);
  });
  it('bounds what values that repeat each other expand to', () => {
    const doubling = ['A=' + 'x'.repeat(1024), ...Array.from({ length: 30 }, (_, i) => `V${i}=\${${i === 0 ? 'A' : `V${i - 1}`}}\${${i === 0 ? 'A' : `V${i - 1}`}}`)].join('\n');
    assert.throws(() => parseDotenv(doubling, () => undefined), /line \d+: the value(s)? expand(s)? to more than/);
  });
  it('reads an unterminated quote over many lines in linear time', () => {
    const started = performance.now();
    assert.throws(() => parseDotenv('A="' + '\nline'.repeat(200_000), () => undefined), /line 1: unterminated double-quoted value of A/);
    // Linear is a fraction of a second; quadratic (rescanning the value at every line) would be minutes.
    assert.ok(performance.now() - started < 20_000);
  });
});

describe('ports', () => {
  const cases: Array<[string | number, unknown]> = [
    [3000, [{ containerPort: 3000, protocol: 'tcp' }]],
    ['8000:80', [{ containerPort: 80, protocol: 'tcp', hostPort: 8000 }]],
    ['0.0.0.0:8000:80', [{ containerPort: 80, protocol: 'tcp', hostPort: 8000 }]],
    ['127.0.0.1:8000:80/udp', [{ containerPort: 80, protocol: 'udp', hostPort: 8000, hostIP: '127.0.0.1' }]],
    ['[::1]:53:53/udp', [{ containerPort: 53, protocol: 'udp', hostPort: 53, hostIP: '::1' }]],
    ['::1:5353:53', [{ containerPort: 53, protocol: 'tcp', hostPort: 5353, hostIP: '::1' }]],
    ['127.0.0.1::80', [{ containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }]],
    ['9090-9091:8080-8081', [{ containerPort: 8080, protocol: 'tcp', hostPort: 9090 }, { containerPort: 8081, protocol: 'tcp', hostPort: 9091 }]],
  ];
  for (const [input, expected] of cases) it(`${JSON.stringify(input)}`, () => assert.deepEqual(parseShortPort(input), expected));
  const bad: Array<[string, RegExp]> = [
    ['70000:80', /outside 1-65535/],
    ['8000-8010:80', /one host port cannot publish|differ in length/],
    ['80/icmp', /not tcp, udp or sctp/],
    ['a:b', /not a port/],
  ];
  for (const [input, message] of bad) it(`rejects ${input}`, () => assert.throws(() => parseShortPort(input), message));
  it('reads expose ranges', () => assert.deepEqual(parseExpose('5000-5001/udp'), [{ port: 5000, protocol: 'udp' }, { port: 5001, protocol: 'udp' }]));
});

describe('splitShellWords', () => {
  const cases: Array<[string, string[]]> = [
    ['bundle exec thin -p 3000', ['bundle', 'exec', 'thin', '-p', '3000']],
    [`sh -c "echo 'hi there' && sleep 1"`, ['sh', '-c', "echo 'hi there' && sleep 1"]],
    [`echo 'a "b"' c\\ d`, ['echo', 'a "b"', 'c d']],
    [`""`, ['']],
  ];
  for (const [input, expected] of cases) it(input, () => assert.deepEqual(splitShellWords(input), expected));
});
