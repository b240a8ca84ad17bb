// A Service's container logs, live: follow on or off, pause (the view holds still while lines keep
// arriving), and a filter by replica.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useContainerLogs, type ContainerLogLine } from '../state/container-logs.js';

const ALL = '';

export function ContainerLogs({ namespace, name }: { namespace: string; name: string }) {
  const [follow, setFollow] = useState(true);
  const [paused, setPaused] = useState<ContainerLogLine[] | undefined>(undefined);
  const [replica, setReplica] = useState(ALL);
  const logs = useContainerLogs(namespace, name, follow);
  const labels = useMemo(() => [...new Set(logs.lines.map((l) => l.label))].sort(), [logs.lines]);
  const shown = (paused ?? logs.lines).filter((l) => replica === ALL || l.label === replica);
  const prefix = labels.length > 1 && replica === ALL;
  const pre = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    if (pre.current && pinned.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [shown.length]);

  const state =
    logs.state === 'error'
      ? logs.error
      : paused
        ? `Paused: ${logs.lines.length - paused.length} newer lines held back`
        : { connecting: 'Connecting to the containers…', following: follow ? 'Following live' : 'Loaded', ended: logs.lines.length ? (follow ? 'No container of the service runs: the log ended' : '') : 'The containers have printed nothing.' }[logs.state];
  return (
    <div className="followed-log" data-testid="container-logs">
      <div className="log-controls">
        <label className="small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
        <button type="button" className="button button--quiet" aria-pressed={paused !== undefined} onClick={() => setPaused(paused ? undefined : logs.lines)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <label className="small">
          Replica{' '}
          <select value={replica} onChange={(e) => setReplica(e.currentTarget.value)}>
            <option value={ALL}>all</option>
            {labels.map((label) => (
              <option key={label} value={label}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {state && (
        <p className={`followed-log__state small${logs.state === 'following' && follow && !paused ? ' is-live' : ''}`} role="status">
          {state}
        </p>
      )}
      {shown.length > 0 && (
        <pre
          className="log log--tall"
          ref={pre}
          tabIndex={0}
          aria-label="Container logs"
          onScroll={(e) => {
            const el = e.currentTarget;
            pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
          {shown.map((l) => `${prefix ? `[${l.label}] ` : ''}${l.line}`).join('\n')}
        </pre>
      )}
    </div>
  );
}
