// The terminal wire format (Kubernetes' channel protocol): frames, resize messages, exit statuses and
// the bearer subprotocol, as tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bearerProtocol,
  Channel,
  closeStdinFrame,
  decodeFrame,
  encodeFrame,
  exitCodeOf,
  exitStatus,
  failureStatus,
  parseResize,
  resizeFrame,
  tokenFromProtocols,
} from '../../../core/terminal/channel-protocol.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('frames', () => {
  it('put the channel byte first', () => {
    assert.deepEqual([...encodeFrame(Channel.stdin, 'ls\r')], [0, 0x6c, 0x73, 0x0d]);
    assert.deepEqual([...encodeFrame(Channel.stdout, new Uint8Array([0xff, 0]))], [1, 0xff, 0]);
    assert.deepEqual([...closeStdinFrame()], [255, 0]);
    assert.equal(text(resizeFrame({ rows: 24, cols: 80 }).subarray(1)), '{"Width":80,"Height":24}');
    assert.equal(resizeFrame({ rows: 24, cols: 80 })[0], Channel.resize);
  });

  it('decode back to channel and data; an empty message is nothing', () => {
    const frame = decodeFrame(encodeFrame(Channel.stderr, 'oops'))!;
    assert.equal(frame.channel, 2);
    assert.equal(text(frame.data), 'oops');
    assert.equal(decodeFrame(new Uint8Array()), undefined);
  });
});

describe('parseResize', () => {
  const cases: Array<[string, string, ReturnType<typeof parseResize>]> = [
    ['a size', '{"Width":120,"Height":50}', { rows: 50, cols: 120 }],
    ['not JSON', 'wide', { error: 'a resize message must be JSON such as {"Width":80,"Height":24}' }],
    ['zero', '{"Width":0,"Height":50}', { error: 'a resize needs Width and Height as whole numbers from 1 to 10000' }],
    ['fractions', '{"Width":80.5,"Height":24}', { error: 'a resize needs Width and Height as whole numbers from 1 to 10000' }],
    ['too large', '{"Width":80,"Height":100000}', { error: 'a resize needs Width and Height as whole numbers from 1 to 10000' }],
    ['missing', '{}', { error: 'a resize needs Width and Height as whole numbers from 1 to 10000' }],
    ['null', 'null', { error: 'a resize needs Width and Height as whole numbers from 1 to 10000' }],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.deepEqual(parseResize(new TextEncoder().encode(input)), expected));
  }
});

describe('exit statuses', () => {
  const cases: Array<[number | null, number | undefined, string]> = [
    [0, 0, 'Success'],
    [3, 3, 'Failure'],
    [130, 130, 'Failure'],
    [null, undefined, 'Failure'],
  ];
  for (const [code, read, status] of cases) {
    it(`exit code ${code} → ${status}, read back as ${read}`, () => {
      const s = exitStatus(code);
      assert.equal(s.status, status);
      assert.equal(exitCodeOf(JSON.parse(JSON.stringify(s))), read);
    });
  }

  it("is kubectl's shape for a non-zero exit", () => {
    assert.deepEqual(exitStatus(3), {
      metadata: {},
      status: 'Failure',
      reason: 'NonZeroExitCode',
      message: 'command terminated with non-zero exit code: 3',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });

  it('a failure of the session has no exit code', () => {
    assert.equal(exitCodeOf(failureStatus('IdleTimeout', 'idle')), undefined);
  });
});

describe('the bearer subprotocol', () => {
  const cases: Array<[string, string[], string | undefined]> = [
    ['round trip', [bearerProtocol('hf_abc.DEF-123')], 'hf_abc.DEF-123'],
    ['among other protocols', ['v5.channel.k8s.io', bearerProtocol('tok')], 'tok'],
    ['none offered', ['v5.channel.k8s.io'], undefined],
    ['not base64url', ['base64url.bearer.authorization.k8s.io.a+b/c'], undefined],
    ['decodes to a space', [`base64url.bearer.authorization.k8s.io.${Buffer.from('a b').toString('base64url')}`], undefined],
    ['empty', ['base64url.bearer.authorization.k8s.io.'], undefined],
  ];
  for (const [name, protocols, token] of cases) {
    it(name, () => assert.equal(tokenFromProtocols(protocols), token));
  }

  it('is a valid WebSocket subprotocol token (no padding, no + or /)', () => {
    assert.match(bearerProtocol('hf_' + 'x'.repeat(40) + '?>'), /^base64url\.bearer\.authorization\.k8s\.io\.[A-Za-z0-9_-]+$/);
  });
});
