// Cancel a running deployment (as `holdfast cancel --deployment ID`), offered when an access review
// allows it: the deployment ends `canceled` at its next step boundary, which the timeline shows.
import { useState } from 'react';
import { API_BASE } from '../api/client.js';
import type { Deployment } from '../api/types.js';
import { useCan } from '../state/access.js';
import { useSession } from '../state/session.js';
import { ConfirmAction } from './confirm-dialog.js';

export function CancelDeployment({ deployment: d }: { deployment: Deployment }) {
  const { client } = useSession();
  const allowed = useCan('cancel', 'services', d.namespace, d.service) === 'allowed';
  const [requested, setRequested] = useState(false);
  if (!allowed || d.cancelRequested || requested) return null;
  return (
    <div className="deployment__actions">
    <ConfirmAction
      label="Cancel deployment"
      title={`Cancel deployment ${d.id}?`}
      confirmLabel="Cancel the deployment"
      destructive
      run={() => client.json<Deployment>(`${API_BASE}/deployments/${encodeURIComponent(d.id)}/cancel`, { method: 'POST', body: {} })}
      onDone={() => setRequested(true)}
    >
      <p>
        Revision {d.revision ?? '—'} of {d.namespace}/{d.service} stops at its next step boundary and ends <strong>canceled</strong>. What it already started
        on {d.server ?? 'the server'} stays as it is until the next deployment.
      </p>
    </ConfirmAction>
    </div>
  );
}
