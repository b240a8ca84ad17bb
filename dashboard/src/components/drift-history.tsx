// What drifted on a Service before, and how each difference ended: healed by a deployment, or gone.
import type { DriftHistoryEntry } from '../api/types.js';
import { splitContainerPath } from '../model/fields.js';
import { duration } from '../model/time.js';
import { StateBadge } from './badges.js';
import { Time, useNow } from './time.js';

export function DriftHistory({ entries }: { entries: readonly DriftHistoryEntry[] }) {
  const now = Math.max(useNow(), Date.now());
  return (
    <div className="table-wrap">
      <table className="table table--compact table--cards" aria-label="Drift history">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Drift</th>
            <th scope="col">First seen</th>
            <th scope="col">Lasted</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e, i) => {
            const { container, rest } = splitContainerPath(e.path);
            return (
              <tr key={`${e.source}:${e.path}:${e.firstSeen}:${i}`} data-history-path={e.path}>
                <th scope="row" data-label="Field" className="mono">
                  <span className="strong">{container ? rest : e.path}</span>
                  {container && <span className="drift-table__container small"> in {container}</span>}
                </th>
                <td data-label="Drift">
                  {e.kind} <span className="muted small">({e.source === 'live-vs-frozen' ? 'live vs frozen' : 'declared vs frozen'})</span>
                </td>
                <td data-label="First seen">
                  <Time iso={e.firstSeen} />
                </td>
                <td data-label="Lasted">{duration(e.firstSeen, e.resolvedAt ?? e.lastSeen, now)}</td>
                <td data-label="Outcome">
                  {!e.resolvedAt ? (
                    <StateBadge tone="drifted" label="still open" />
                  ) : e.resolution === 'healed' ? (
                    <StateBadge tone="synced" label={e.healedBy ? `healed by ${e.healedBy}` : 'healed'} />
                  ) : (
                    <StateBadge tone="neutral" label="gone" />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
