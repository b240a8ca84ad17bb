// The deployments timeline: newest first, each with its steps, their durations and logs; a running
// deployment is expanded and its log followed as it is written.
import { useEffect, useRef, useState } from 'react';
import type { Deployment, DeploymentStep } from '../api/types.js';
import { duration } from '../model/time.js';
import { useLogStream } from '../state/log-stream.js';
import { StateBadge } from './badges.js';
import { CancelDeployment } from './cancel-deployment.js';
import { Time, useNow } from './time.js';

/** Phases of a deployment that has not ended. */
const ACTIVE_PHASES = new Set(['queued', 'prepare', 'deploy', 'finalize']);

export const isActive = (phase: string | undefined) => (phase ? ACTIVE_PHASES.has(phase) : false);

export function phaseTone(phase: string | undefined): string {
  switch (phase) {
    case 'completed':
    case 'succeeded':
      return 'synced';
    case 'failed':
      return 'failed';
    case 'canceled':
    case 'skipped':
    case 'pending':
      return 'pending';
    case 'running':
      return 'progressing';
    default:
      return isActive(phase) ? 'progressing' : 'neutral';
  }
}

const TRIGGER_LABEL: Record<string, string> = {
  user: 'started by hand',
  api: 'applied',
  webhook: 'webhook',
  watch: 'GitOps',
  controller: 'controller',
  rollback: 'rollback',
};

export function DeploymentTimeline({ deployments }: { deployments: readonly Deployment[] }) {
  const sorted = [...deployments].sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0) || (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  return (
    <ol className="deployments">
      {sorted.map((d, i) => (
        <DeploymentItem key={d.id} deployment={d} open={isActive(d.phase) || (i === 0 && d.phase === 'failed')} />
      ))}
    </ol>
  );
}

function DeploymentItem({ deployment: d, open }: { deployment: Deployment; open: boolean }) {
  const now = Math.max(useNow(), Date.now());
  const active = isActive(d.phase);
  const [showLog, setShowLog] = useState(false);
  const trigger = d.trigger ? TRIGGER_LABEL[d.trigger] ?? d.trigger : undefined;
  return (
    <li className={`deployment deployment--${phaseTone(d.phase)}`} data-deployment={d.id} data-phase={d.phase}>
      <details open={open}>
        <summary className="deployment__summary">
          <span className="deployment__title">{d.revision !== undefined ? `Revision ${d.revision}` : d.id}</span>
          <StateBadge tone={phaseTone(d.phase)} label={d.cancelRequested && active ? `${d.phase} · canceling` : d.phase} />
          <span className="muted small">
            {[trigger, d.actor ? `by ${d.actor}` : undefined, d.rollbackOf !== undefined ? `back to revision ${d.rollbackOf}` : undefined, d.generation !== undefined ? `generation ${d.generation}` : undefined]
              .filter(Boolean)
              .join(' · ')}
          </span>
          <span className="deployment__time small">
            {d.startedAt ? (
              <>
                <Time iso={d.startedAt} /> · {duration(d.startedAt, d.finishedAt, now)}
              </>
            ) : (
              <>
                queued <Time iso={d.createdAt} />
              </>
            )}
          </span>
        </summary>
        {(d.message || d.reason) && (
          <p className={`deployment__message${d.phase === 'failed' ? ' deployment__message--failed' : ''}`} role={d.phase === 'failed' ? 'alert' : undefined}>
            {d.reason && <strong>{d.reason}: </strong>}
            {d.message}
          </p>
        )}
        <p className="deployment__meta muted small">
          <span className="mono">{d.id}</span>
          {d.server ? ` · on ${d.server}` : ''}
          {d.sourceCommit ? ` · commit ${d.sourceCommit.slice(0, 12)}` : ''}
        </p>
        {d.steps?.length ? (
          <ol className="steps">
            {d.steps.map((s) => (
              <Step key={s.name} deploymentId={d.id} step={s} now={now} />
            ))}
          </ol>
        ) : (
          <p className="muted small deployment__meta">No steps recorded yet.</p>
        )}
        {active && <CancelDeployment deployment={d} />}
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

function Step({ deploymentId, step, now }: { deploymentId: string; step: DeploymentStep; now: number }) {
  const tone = phaseTone(step.status);
  // A step's own log is read when it is opened, not for every step of every deployment.
  const [opened, setOpened] = useState(false);
  return (
    <li className={`step step--${tone}`} data-step={step.name}>
      <details onToggle={(e) => e.currentTarget.open && setOpened(true)}>
        <summary className="step__summary">
          <span className={`step__icon step__icon--${tone}`} aria-hidden="true" />
          <span className="step__name">{step.name}</span>
          <span className="muted small">{step.status}</span>
          {step.message && <span className="step__message small">{step.message}</span>}
          <span className="step__time small">{step.startedAt ? duration(step.startedAt, step.finishedAt, now) : step.status === 'skipped' ? '' : 'not started'}</span>
        </summary>
        {opened && <DeploymentLog id={deploymentId} step={step.name} follow={false} compact />}
      </details>
    </li>
  );
}

function DeploymentLog({ id, follow, step, compact = false }: { id: string; follow: boolean; step?: string; compact?: boolean }) {
  const stream = useLogStream(id, follow, step);
  const pre = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    // Stay at the bottom unless the reader scrolled up to look at something.
    if (pre.current && pinned.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [stream.lines]);
  const label = follow
    ? { connecting: 'Connecting to the log…', following: 'Following live', ended: 'Log ended', unavailable: 'The live log is not available from this server', error: stream.error }[stream.state]
    : { connecting: 'Loading the log…', following: 'Loading the log…', ended: stream.lines.length ? '' : step ? 'No log lines for this step.' : 'The log is empty.', unavailable: 'The log is not available from this server', error: stream.error }[stream.state];
  return (
    <div className={compact ? 'step-log' : 'followed-log'}>
      {label && (
        <p className={`followed-log__state small${follow && stream.state === 'following' ? ' is-live' : ''}`} role="status">
          {label}
        </p>
      )}
      {stream.lines.length > 0 && (
        <pre
          className={`log${compact ? '' : ' log--tall'}`}
          ref={pre}
          tabIndex={0}
          aria-label={step ? `Log of the ${step} step` : 'Deployment log'}
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
