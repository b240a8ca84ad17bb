// The deployments timeline: newest first, each with its steps, their durations and logs; a running
// deployment is expanded and its log followed as it is written.
import { useEffect, useRef, useState } from 'react';
import type { Deployment, DeploymentStep } from '../api/types.js';
import { duration } from '../model/time.js';
import { useLogStream } from '../state/log-stream.js';
import { StateBadge } from './badges.js';
import { Time, useNow } from './time.js';

const ACTIVE = new Set(['queued', 'prepare', 'deploy', 'finalize', 'running', 'pending']);

export const isActive = (phase: string | undefined) => (phase ? ACTIVE.has(phase) : false);

export function phaseTone(phase: string | undefined): string {
  switch (phase) {
    case 'completed':
    case 'succeeded':
      return 'synced';
    case 'failed':
      return 'failed';
    case 'canceled':
    case 'skipped':
      return 'pending';
    default:
      return isActive(phase) ? 'progressing' : 'neutral';
  }
}

export function DeploymentTimeline({ deployments }: { deployments: readonly Deployment[] }) {
  const sorted = [...deployments].sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? '') || (b.revision ?? 0) - (a.revision ?? 0));
  return (
    <ol className="deployments">
      {sorted.map((d, i) => (
        <DeploymentItem key={d.id} deployment={d} open={isActive(d.phase) || (i === 0 && d.phase === 'failed')} />
      ))}
    </ol>
  );
}

function DeploymentItem({ deployment: d, open }: { deployment: Deployment; open: boolean }) {
  const now = useNow();
  const active = isActive(d.phase);
  const [showLog, setShowLog] = useState(false);
  return (
    <li className={`deployment deployment--${phaseTone(d.phase)}`} data-deployment={d.id}>
      <details open={open}>
        <summary className="deployment__summary">
          <span className="deployment__title">{d.revision !== undefined ? `Revision ${d.revision}` : d.id}</span>
          <StateBadge tone={phaseTone(d.phase)} label={d.phase} />
          <span className="muted small">
            {d.trigger ?? 'deploy'}
            {d.actor ? ` by ${d.actor}` : ''}
            {d.generation !== undefined ? ` · generation ${d.generation}` : ''}
          </span>
          <span className="deployment__time small">
            <Time iso={d.startedAt} /> · {duration(d.startedAt, d.finishedAt, Math.max(now, Date.now()))}
          </span>
        </summary>
        {d.error && (
          <p className="deployment__error" role="alert">
            {d.error}
          </p>
        )}
        {d.steps?.length ? (
          <ol className="steps">
            {d.steps.map((s) => (
              <Step key={s.name} step={s} now={Math.max(now, Date.now())} />
            ))}
          </ol>
        ) : (
          <p className="muted small">No steps recorded.</p>
        )}
        {active ? (
          <DeploymentLog id={d.id} follow />
        ) : showLog ? (
          <DeploymentLog id={d.id} follow={false} />
        ) : (
          <div className="deployment__actions">
            <button type="button" className="button" onClick={() => setShowLog(true)}>
              Show the full log
            </button>
          </div>
        )}
      </details>
    </li>
  );
}

/** A step waiting its turn is not in progress: only a running one pulses. */
function stepTone(status: string): string {
  if (status === 'running') return 'progressing';
  if (status === 'pending' || status === 'queued') return 'pending';
  return phaseTone(status);
}

function Step({ step, now }: { step: DeploymentStep; now: number }) {
  const tone = stepTone(step.status);
  return (
    <li className={`step step--${tone}`}>
      <details>
        <summary className="step__summary">
          <span className={`step__icon step__icon--${tone}`} aria-hidden="true" />
          <span className="step__name">{step.name}</span>
          <span className="muted small">{step.status}</span>
          <span className="step__time small">{step.startedAt ? duration(step.startedAt, step.finishedAt, now) : 'not started'}</span>
        </summary>
        {step.log ? <pre className="log">{step.log}</pre> : <p className="muted small">No log for this step.</p>}
      </details>
    </li>
  );
}

function DeploymentLog({ id, follow }: { id: string; follow: boolean }) {
  const stream = useLogStream(id, follow);
  const pre = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    // Stay at the bottom unless the reader scrolled up to look at something.
    if (pre.current && pinned.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [stream.lines]);
  const label = follow
    ? { connecting: 'Connecting to the log…', following: 'Following live', ended: 'Log ended', unavailable: 'The live log is not available from this server yet', error: stream.error }[stream.state]
    : { connecting: 'Loading the log…', following: 'Loading the log…', ended: stream.lines.length ? '' : 'The log is empty', unavailable: 'The full log is not available from this server yet', error: stream.error }[stream.state];
  return (
    <div className="followed-log">
      <p className={`followed-log__state small${follow && stream.state === 'following' ? ' is-live' : ''}`} role="status">
        {label}
      </p>
      {stream.lines.length > 0 && (
        <pre
          className="log log--tall"
          ref={pre}
          tabIndex={0}
          aria-label="Deployment log"
          onScroll={(e) => {
            const el = e.currentTarget;
            pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
          {stream.lines.join('\n')}
        </pre>
      )}
    </div>
  );
}
