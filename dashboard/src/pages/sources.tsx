// Git sources: each GitRepository's revision, conditions with their reasons, inventory and last
// syncs; suspend and resume where an access review allows writing it.
import { useState } from 'react';
import { API_BASE, resourcePath } from '../api/client.js';
import type { GitRepositorySpec, GitRepositoryStatus } from '../../../core/schema/types.generated.js';
import type { Resource } from '../api/types.js';
import { ConfirmAction } from '../components/confirm-dialog.js';
import { Conditions } from '../components/conditions.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { Time } from '../components/time.js';
import { useCan } from '../state/access.js';
import { useRemote } from '../state/remote.js';
import { useSession } from '../state/session.js';
import { useTitle } from '../state/title.js';

type Source = Resource<GitRepositorySpec, GitRepositoryStatus>;

export function Sources() {
  useTitle('Git sources');
  const [refresh, setRefresh] = useState(0);
  const sources = useRemote<{ items: Source[] }>(`${API_BASE}/gitrepositories`, refresh);
  return (
    <div className="page">
      <header className="page__header">
        <h1>Git sources</h1>
        <p className="page__sub">Repositories the control plane follows: what each applied, from which revision, and its last syncs.</p>
      </header>
      {sources.status === 'loading' ? (
        <Loading label="Loading Git sources…" />
      ) : sources.status === 'error' || sources.status === 'unavailable' ? (
        <ErrorState title="Could not load the Git sources" error={sources.error} />
      ) : sources.data.items.length === 0 ? (
        <Empty title="No Git sources yet">
          Apply a <code>GitRepository</code> (see <code>examples/gitops/gitrepository.yaml</code>) to follow a repository.
        </Empty>
      ) : (
        sources.data.items.map((s) => <SourceCard key={`${s.metadata.namespace}/${s.metadata.name}`} source={s} onChanged={() => setRefresh((n) => n + 1)} />)
      )}
    </div>
  );
}

function SourceCard({ source, onChanged }: { source: Source; onChanged: () => void }) {
  const namespace = source.metadata.namespace ?? '';
  const { name } = source.metadata;
  const key = `${namespace}/${name}`;
  return (
    <section className="card" aria-label={`Git source ${key}`} data-source={key}>
      <header className="card__header">
        <h2 className="mono">{key}</h2>
        <SuspendAction source={source} onChanged={onChanged} />
      </header>
      <dl className="facts">
        <dt>URL</dt>
        <dd className="mono">{source.spec?.url}</dd>
        <dt>Revision</dt>
        <dd className="mono" data-field="revision">
          {source.status?.lastAppliedRevision ?? '—'}
        </dd>
        <dt>Following</dt>
        <dd data-field="suspended">{source.spec?.suspend ? 'suspended' : 'yes'}</dd>
      </dl>
      <h3>Conditions</h3>
      <Conditions conditions={source.status?.conditions} />
      <h3>Inventory</h3>
      {source.status?.inventory?.length ? (
        <ul className="mono small" data-field="inventory">
          {source.status.inventory.map((e) => (
            <li key={`${e.kind}/${e.namespace ?? ''}/${e.name}`}>
              {e.kind.toLowerCase()}/{e.namespace ? `${e.namespace}/` : ''}
              {e.name}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">Nothing applied yet.</p>
      )}
      <h3>Last syncs</h3>
      {source.status?.history?.length ? (
        <div className="table-wrap">
          <table className="table table--compact" data-field="history">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Trigger</th>
                <th scope="col">Revision</th>
                <th scope="col">Result</th>
                <th scope="col">Objects</th>
              </tr>
            </thead>
            <tbody>
              {source.status.history.map((h) => (
                <tr key={h.startTime}>
                  <td>
                    <Time iso={h.startTime} />
                  </td>
                  <td>{h.trigger}</td>
                  <td className="mono" title={h.commitMessage}>
                    {h.revision ?? '—'}
                  </td>
                  <td>{h.error ? `${h.result}: ${h.error}` : h.result}</td>
                  <td>{`${h.created ?? 0} created, ${h.configured ?? 0} configured, ${h.pruned ?? 0} pruned, ${h.unchanged ?? 0} unchanged`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted small">No syncs yet.</p>
      )}
    </section>
  );
}

function SuspendAction({ source, onChanged }: { source: Source; onChanged: () => void }) {
  const { client } = useSession();
  const namespace = source.metadata.namespace ?? '';
  const { name } = source.metadata;
  if (useCan('write', 'gitrepositories', namespace, name) !== 'allowed') return null;
  const suspended = source.spec?.suspend === true;
  return (
    <ConfirmAction
      label={suspended ? 'Resume' : 'Suspend'}
      title={suspended ? `Resume following ${namespace}/${name}?` : `Suspend ${namespace}/${name}?`}
      confirmLabel={suspended ? 'Resume' : 'Suspend'}
      run={() =>
        client.json(resourcePath('gitrepositories', { namespace, name }), { method: 'PATCH', body: { spec: { suspend: !suspended } }, contentType: 'application/merge-patch+json' })
      }
      onDone={onChanged}
    >
      <p>{suspended ? 'The repository is followed again from its next sync.' : 'Nothing is fetched or applied until it is resumed; what was applied stays.'}</p>
    </ConfirmAction>
  );
}
