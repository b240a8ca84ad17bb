// The deployment an action queued, followed until it ends: its phase, then how it ended and why.
import { useEffect, useState } from 'react';
import { API_BASE } from '../api/client.js';
import type { Deployment } from '../api/types.js';
import { usePoll, useRemote } from '../state/remote.js';
import { StateBadge } from './badges.js';
import { isActive, phaseTone } from './deployments.js';

const FOLLOW_POLL_MS = 1_500;

export function FollowedDeployment({ queued, what }: { queued: Deployment; what: string }) {
  const [ended, setEnded] = useState(false);
  const record = useRemote<Deployment>(`${API_BASE}/deployments/${encodeURIComponent(queued.id)}`, usePoll(!ended, FOLLOW_POLL_MS));
  const d = record.status === 'ready' ? record.data : queued;
  useEffect(() => setEnded(!isActive(d.phase)), [d.phase]);
  return (
    <div className={`action-result${d.phase === 'failed' ? ' action-result--failed' : ''}`} role="status" aria-live="polite" data-testid="action-result" data-deployment={d.id} data-phase={d.phase}>
      <span>
        {what}: deployment <span className="mono">{d.id}</span>
        {d.revision !== undefined ? ` (revision ${d.revision})` : ''}
      </span>
      <StateBadge tone={phaseTone(d.phase)} label={d.cancelRequested && !ended ? `${d.phase} · canceling` : d.phase} />
      {ended && (d.reason || d.message) && (
        <span className="small">
          {d.reason && <strong>{d.reason}: </strong>}
          {d.message}
        </span>
      )}
    </div>
  );
}
