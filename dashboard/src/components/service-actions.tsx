// What a Service's page can do, each shown only when an access review allows it and each confirmed
// first: sync (converge now), rollout undo (to a chosen revision, its frozen input shown), healing
// on or off. A queued deployment is followed to its end below the buttons.
import { useState } from 'react';
import { API_BASE, resourcePath } from '../api/client.js';
import type { Deployment, DeploymentWithInput, Service } from '../api/types.js';
import { useCan } from '../state/access.js';
import { useSession } from '../state/session.js';
import { ConfirmAction } from './confirm-dialog.js';
import { FollowedDeployment } from './followed-deployment.js';

const ROLLED_BACK = 'RolledBack';

export function ServiceActions({ service, deployments }: { service: Service; deployments: readonly Deployment[] | undefined }) {
  const { client } = useSession();
  const namespace = service.metadata.namespace ?? '';
  const name = service.metadata.name;
  const access = [useCan('deploy', 'services', namespace, name), useCan('rollback', 'services', namespace, name), useCan('write', 'services', namespace, name)];
  const [canSync, canUndo, canWrite] = access.map((a) => a === 'allowed');
  const [queued, setQueued] = useState<{ deployment: Deployment; what: string }>();
  const [note, setNote] = useState<string>();
  const label = `${namespace}/${name}`;
  const rolledBack = service.status?.conditions?.find((c) => c.type === ROLLED_BACK && c.status === 'True');
  const healing = service.spec?.driftPolicy?.mode === 'heal';

  if (access.includes('asking')) return null;
  if (!canSync && !canUndo && !canWrite) {
    return (
      <p className="muted small" data-testid="actions-refused">
        Your roles (or your token's scopes) allow no actions on this service: sync needs deploy:start, rolling back deploy:rollback, healing service:write.
      </p>
    );
  }
  return (
    <section className="action-group" aria-label="Actions">
      <div className="actions">
        {canSync && (
          <ConfirmAction
            label="Sync"
            title={`Sync ${label} now?`}
            confirmLabel="Sync now"
            run={() => client.json<Deployment>(resourcePath('services', { namespace, name, sub: 'sync' }), { method: 'POST', body: {} })}
            onDone={(deployment) => setQueued({ deployment, what: 'Sync' })}
          >
            <p>
              Queues a deployment of the declared spec (generation {service.metadata.generation ?? '—'}) to server {service.spec?.server ?? '—'}, whatever the drift
              policy says: what differs on the host is put back as declared.
            </p>
            {rolledBack && (
              <p className="notice" role="note">
                {rolledBack.message} Syncing rolls the declared spec out again, undoing that rollback.
              </p>
            )}
          </ConfirmAction>
        )}
        {canUndo && <UndoAction service={service} deployments={deployments} onQueued={(deployment) => setQueued({ deployment, what: 'Rollout undo' })} />}
        {canWrite && (
          <ConfirmAction
            label={healing ? 'Turn healing off' : 'Turn healing on'}
            title={healing ? `Stop healing ${label}?` : `Heal ${label} when it drifts?`}
            confirmLabel={healing ? 'Only report drift' : 'Heal drift'}
            run={() =>
              client.json<Service>(resourcePath('services', { namespace, name }), {
                method: 'PATCH',
                contentType: 'application/merge-patch+json',
                body: { spec: { driftPolicy: { mode: healing ? 'report' : 'heal' } } },
              })
            }
            onDone={(updated) => setNote(`Drift policy is now ${updated.spec?.driftPolicy?.mode ?? 'report'} (generation ${updated.metadata.generation ?? '—'}).`)}
          >
            <p>
              {healing
                ? 'Sets the drift policy to report: drift stays on the host and is only shown here.'
                : 'Sets the drift policy to heal: whenever the host differs from the deployed input, the controller redeploys that input.'}{' '}
              This changes the Service's spec (spec.driftPolicy.mode), as an apply would; a manifest applied later sets it again.
            </p>
          </ConfirmAction>
        )}
        <span className="actions__note small" role="status" aria-live="polite">
          {note}
        </span>
      </div>
      {queued && <FollowedDeployment key={queued.deployment.id} queued={queued.deployment} what={queued.what} />}
    </section>
  );
}

/** Deployments that completed, newest first, except the one running now: what undo can go back to. */
function undoTargets(deployments: readonly Deployment[]): Deployment[] {
  const completed = deployments.filter((d) => d.phase === 'completed' && d.revision !== undefined).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0));
  return completed.slice(1);
}

function UndoAction({ service, deployments, onQueued }: { service: Service; deployments: readonly Deployment[] | undefined; onQueued: (d: Deployment) => void }) {
  const { client } = useSession();
  const namespace = service.metadata.namespace ?? '';
  const name = service.metadata.name;
  const targets = undoTargets(deployments ?? []);
  const [chosen, setChosen] = useState<number>();
  const revision = chosen ?? targets[0]?.revision;
  const target = targets.find((d) => d.revision === revision);
  const [input, setInput] = useState<{ id: string; frozen?: unknown; error?: string }>();
  const load = (d: Deployment | undefined) => {
    if (!d) return;
    setInput({ id: d.id });
    client.json<DeploymentWithInput>(`${API_BASE}/deployments/${encodeURIComponent(d.id)}`).then(
      (record) => setInput({ id: d.id, frozen: record.frozen }),
      (err: Error) => setInput({ id: d.id, error: err.message }),
    );
  };
  if (targets.length === 0) return null;
  return (
    <ConfirmAction
      label="Roll back…"
      title={`Roll ${namespace}/${name} back?`}
      confirmLabel={`Roll back to revision ${revision}`}
      ready={target !== undefined}
      onOpen={() => load(target)}
      run={() => client.json<Deployment>(resourcePath('services', { namespace, name, sub: 'rollback' }), { method: 'POST', body: { toRevision: revision } })}
      onDone={onQueued}
    >
      <p>Queues a deployment that redeploys an earlier revision's frozen input exactly. The declared spec stays as it is, so the Service reads as rolled back until the next change or sync.</p>
      <label className="field">
        <span className="field__label">Revision</span>
        <select
          className="input"
          value={revision}
          onChange={(e) => {
            const next = Number(e.target.value);
            setChosen(next);
            load(targets.find((d) => d.revision === next));
          }}
        >
          {targets.map((d) => (
            <option key={d.id} value={d.revision}>
              Revision {d.revision} · generation {d.generation ?? '—'} · {d.finishedAt ? new Date(d.finishedAt).toLocaleString() : d.id}
            </option>
          ))}
        </select>
      </label>
      <div>
        <p className="field__label">Its frozen input</p>
        {input?.error ? (
          <p className="field__error">{input.error}</p>
        ) : input?.id === target?.id && input?.frozen !== undefined ? (
          <pre className="log" tabIndex={0} aria-label={`Frozen input of revision ${revision}`} data-testid="undo-frozen">
            {JSON.stringify(input.frozen, null, 2)}
          </pre>
        ) : (
          <p className="muted small">Loading…</p>
        )}
      </div>
    </ConfirmAction>
  );
}
