// One terminal session: xterm.js on an exec or shell WebSocket in Kubernetes' channel protocol
// (stdin, stdout and stderr frames, resize, the exit Status at the end).
import '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import { Channel, closeStdinFrame, decodeFrame, encodeFrame, exitCodeOf, resizeFrame, type ExitStatus } from '../../../core/terminal/channel-protocol.js';
import { resourcePath } from '../api/client.js';
import { useSession } from '../state/session.js';

export type TerminalTarget = { kind: 'service'; namespace: string; name: string } | { kind: 'server'; name: string };

const ROWS = 24;
const COLS = 100;

type SessionState = { phase: 'connecting' } | { phase: 'open' } | { phase: 'ended'; message: string; failed: boolean };

export function TerminalSession({ target, onRestart }: { target: TerminalTarget; onRestart: () => void }) {
  const { client } = useSession();
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<SessionState>({ phase: 'connecting' });

  useEffect(() => {
    const term = new Terminal({ rows: ROWS, cols: COLS, convertEol: false, cursorBlink: true, fontSize: 13 });
    term.open(host.current!);
    const query = new URLSearchParams({ stdin: 'true', tty: 'true' });
    if (target.kind === 'service') query.append('command', 'sh');
    const path =
      target.kind === 'service'
        ? `${resourcePath('services', { namespace: target.namespace, name: target.name, sub: 'exec' })}?${query}`
        : `${resourcePath('servers', { name: target.name, sub: 'shell' })}?${query}`;
    const socket = client.openChannel(path);
    let exit: ExitStatus | undefined;
    const decoder = new TextDecoder();
    const input = term.onData((data) => socket.readyState === WebSocket.OPEN && socket.send(encodeFrame(Channel.stdin, data)));
    const resize = term.onResize(({ rows, cols }) => socket.readyState === WebSocket.OPEN && socket.send(resizeFrame({ rows, cols })));
    socket.onopen = () => {
      socket.send(resizeFrame({ rows: term.rows, cols: term.cols }));
      setState({ phase: 'open' });
      term.focus();
    };
    socket.onmessage = (message) => {
      const frame = decodeFrame(new Uint8Array(message.data as ArrayBuffer));
      if (!frame) return;
      if (frame.channel === Channel.stdout || frame.channel === Channel.stderr) term.write(frame.data);
      else if (frame.channel === Channel.status) exit = JSON.parse(decoder.decode(frame.data)) as ExitStatus;
    };
    socket.onclose = () => {
      input.dispose();
      resize.dispose();
      term.options.cursorBlink = false;
      setState(ended(exit));
    };
    return () => {
      socket.onclose = null;
      if (socket.readyState === WebSocket.OPEN) socket.send(closeStdinFrame());
      socket.close();
      term.dispose();
    };
    // The target is fixed for a session: a new target is a new session (keyed by the panel).
  }, [client]);

  return (
    <div className="terminal" data-testid="terminal" data-phase={state.phase}>
      <div className="terminal__screen" ref={host} />
      <p className={`small${state.phase === 'ended' && state.failed ? ' terminal__failed' : ''}`} role="status" data-testid="terminal-status">
        {state.phase === 'connecting' ? 'Connecting…' : state.phase === 'open' ? 'Connected: what you type goes to the shell.' : state.message}
        {state.phase === 'ended' && (
          <>
            {' '}
            <button type="button" className="button button--quiet" onClick={onRestart}>
              Open another
            </button>
          </>
        )}
      </p>
    </div>
  );
}

/** What the end of a session says: the process's exit code, or why the session ended without one. */
function ended(exit: ExitStatus | undefined): SessionState {
  if (!exit) return { phase: 'ended', failed: true, message: 'The connection ended before the shell reported an exit code (the server refused it, or the network dropped).' };
  const code = exitCodeOf(exit);
  if (code === 0) return { phase: 'ended', failed: false, message: 'The shell exited with code 0.' };
  if (code !== undefined) return { phase: 'ended', failed: true, message: `The shell exited with code ${code}.` };
  return { phase: 'ended', failed: true, message: `The session ended: ${exit.message ?? exit.reason ?? 'without an exit code'}.` };
}
