// Joins this process's terminal to a terminal WebSocket (core/terminal/channel-protocol.ts): stdin
// goes out on channel 0 (raw, keystroke by keystroke, with a TTY: Ctrl-C travels as a byte to the
// remote process), output comes back on channels 1 and 2, window size changes on channel 4, and the
// exit status on channel 3 becomes this command's exit code.
import type { WebSocket, RawData } from 'ws';
import { HoldfastError } from '../core/errors.js';
import {
  Channel,
  CHANNEL_PROTOCOL_V5,
  closeStdinFrame,
  decodeFrame,
  encodeFrame,
  exitCodeOf,
  resizeFrame,
  type ExitStatus,
} from '../core/terminal/channel-protocol.js';

export interface LocalTerminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Runs the session to its end; resolves with the remote process's exit code. */
export function attachTerminal(ws: WebSocket, options: { tty: boolean; stdin: boolean }, io: LocalTerminal = process): Promise<number> {
  return new Promise((resolve, reject) => {
    let status: ExitStatus | undefined;
    const raw = options.tty && io.stdin.isTTY === true;
    const send = (frame: Uint8Array) => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    };
    const sendSize = () => {
      if (io.stdout.rows && io.stdout.columns) send(resizeFrame({ rows: io.stdout.rows, cols: io.stdout.columns }));
    };
    const onInput = (data: Buffer) => send(encodeFrame(Channel.stdin, data));
    // v4 has no way to say "stdin ended"; the remote process then sees its input end with the session.
    const onInputEnd = () => {
      if (ws.protocol === CHANNEL_PROTOCOL_V5) send(closeStdinFrame());
    };

    if (options.tty) {
      sendSize();
      io.stdout.on('resize', sendSize);
    }
    if (raw) io.stdin.setRawMode(true);
    if (options.stdin) {
      io.stdin.on('data', onInput);
      io.stdin.once('end', onInputEnd);
      io.stdin.resume();
    }

    ws.on('message', (message: RawData) => {
      const frame = decodeFrame(Buffer.isBuffer(message) ? message : Buffer.concat(Array.isArray(message) ? message : [Buffer.from(message)]));
      if (!frame) return;
      if (frame.channel === Channel.stdout) io.stdout.write(frame.data);
      else if (frame.channel === Channel.stderr) io.stderr.write(frame.data);
      else if (frame.channel === Channel.status) {
        try {
          status = JSON.parse(Buffer.from(frame.data).toString('utf8')) as ExitStatus;
        } catch {
          status = undefined;
        }
      }
    });
    ws.once('close', () => {
      if (raw) io.stdin.setRawMode(false);
      io.stdout.off('resize', sendSize);
      io.stdin.off('data', onInput);
      io.stdin.off('end', onInputEnd);
      io.stdin.pause();
      if (!status) {
        reject(new HoldfastError('ServiceUnavailable', 'the terminal connection closed before the process reported its exit status'));
        return;
      }
      const code = exitCodeOf(status);
      if (code === undefined) reject(new HoldfastError(status.reason === 'IdleTimeout' ? 'Timeout' : 'InternalError', status.message ?? 'the session failed'));
      else resolve(code);
    });
    ws.on('error', () => undefined);
  });
}
