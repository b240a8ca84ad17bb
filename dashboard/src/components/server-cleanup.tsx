// Server cleanup from the server's page (as `holdfast server cleanup NAME`): the dialog shows the
// preview (Holdfast's stopped containers, unused images and networks, sizes, what is kept and why);
// confirming removes exactly what it listed, and the result says what went and what was freed.
import { useState } from 'react';
import type { CleanupItem } from '../../../core/cleanup/cleanup-plan.js';
import { resourcePath } from '../api/client.js';
import { formatBytes } from '../model/time.js';
import { useCan } from '../state/access.js';
import { useSession } from '../state/session.js';
import { ConfirmAction } from './confirm-dialog.js';

interface CleanupPreview {
  remove: CleanupItem[];
  keep: CleanupItem[];
  totalBytes: number;
}

interface CleanupResult {
  removed: CleanupItem[];
  failed: Array<CleanupItem & { error: string }>;
  notPreviewed: CleanupItem[];
  noLongerEligible: string[];
  freedBytes: number;
}

export function ServerCleanupAction({ server }: { server: string }) {
  const { client } = useSession();
  const access = useCan('cleanup', 'servers', undefined, server);
  const [preview, setPreview] = useState<{ plan?: CleanupPreview; error?: string }>();
  const [result, setResult] = useState<CleanupResult>();
  const path = resourcePath('servers', { name: server, sub: 'cleanup' });
  if (access === 'asking') return null;
  if (access !== 'allowed') {
    return (
      <p className="muted small" data-testid="actions-refused">
        {access === 'refused' ? 'Cleaning up this server needs the server:cleanup scope.' : `Whether you may clean up this server could not be learned: ${access.unknown}`}
      </p>
    );
  }
  const load = () => {
    setPreview(undefined);
    client.json<CleanupPreview>(path).then(
      (plan) => setPreview({ plan }),
      (err: Error) => setPreview({ error: err.message }),
    );
  };
  const plan = preview?.plan;
  return (
    <div className="action-group">
      <div className="actions">
        <ConfirmAction
          label="Clean up…"
          title={`Clean up server ${server}?`}
          confirmLabel={plan ? `Remove ${plan.remove.length} object${plan.remove.length === 1 ? '' : 's'}` : 'Remove'}
          destructive
          ready={!!plan && plan.remove.length > 0}
          onOpen={load}
          run={() => client.json<CleanupResult>(path, { method: 'POST', body: { all: false, items: plan!.remove.map((i) => i.id) } })}
          onDone={setResult}
        >
          <p>Removes Holdfast's own stopped containers, unused images and networks from this server; images of the last deployments stay. Only what is listed here goes: anything new since this preview is kept.</p>
          {preview?.error ? (
            <p className="field__error">{preview.error}</p>
          ) : !plan ? (
            <p className="muted small">Loading the preview…</p>
          ) : plan.remove.length === 0 ? (
            <p data-testid="cleanup-preview">Nothing to clean up.</p>
          ) : (
            <div className="table-wrap">
              <table className="table table--compact" data-testid="cleanup-preview">
                <caption className="sr-only">What the cleanup removes</caption>
                <thead>
                  <tr>
                    <th scope="col">Kind</th>
                    <th scope="col">Name</th>
                    <th scope="col">Size</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {plan.remove.map((i) => (
                    <tr key={i.id}>
                      <td>{i.kind}</td>
                      <td className="mono">{i.name}</td>
                      <td className="num">{formatBytes(i.size)}</td>
                      <td>{i.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="small">
                Total: {plan.remove.length} object{plan.remove.length === 1 ? '' : 's'}, {formatBytes(plan.totalBytes)}
              </p>
            </div>
          )}
          {plan && plan.keep.length > 0 && (
            <p className="small muted">
              Kept: {plan.keep.map((i) => `${i.kind} ${i.name} (${i.reason})`).join('; ')}
            </p>
          )}
        </ConfirmAction>
      </div>
      {result && (
        <div className={`action-result${result.failed.length ? ' action-result--failed' : ''}`} role="status" aria-live="polite" data-testid="cleanup-result">
          <span>
            Removed {result.removed.length} object{result.removed.length === 1 ? '' : 's'}, freed {formatBytes(result.freedBytes)}.
            {result.failed.length ? ` Not removed: ${result.failed.map((i) => `${i.kind} ${i.name} (${i.error})`).join('; ')}.` : ''}
            {result.notPreviewed.length ? ` Kept ${result.notPreviewed.length} new since the preview.` : ''}
            {result.noLongerEligible.length ? ` Kept ${result.noLongerEligible.length} no longer eligible.` : ''}
          </span>
        </div>
      )}
    </div>
  );
}
