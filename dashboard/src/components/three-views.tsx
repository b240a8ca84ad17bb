// Declared | frozen | live, side by side, with each drifted field marked in the columns it concerns,
// and the drift entries themselves listed above them.
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { DriftEntry } from '../api/types.js';
import { compareSecret, driftFor, driftValue, flattenFields, secretDriftText, normalisePath, splitContainerPath, type FieldRow, type SecretComparison } from '../model/fields.js';
import { StateBadge } from './badges.js';
import { Empty } from './states.js';
import { Time } from './time.js';

export type ViewAvailability = 'ready' | 'loading' | 'unavailable';

interface Props {
  declared: unknown;
  frozen: unknown;
  live: unknown;
  drift: readonly DriftEntry[];
  availability: ViewAvailability;
  /** Set when the frozen input was read from this deployment record (the views API is missing). */
  frozenFromRecord?: string;
}

const KIND_TONE: Record<DriftEntry['kind'], string> = { changed: 'drifted', missing: 'failed', unexpected: 'progressing' };
const SOURCE_LABEL: Record<DriftEntry['source'], string> = { 'live-vs-frozen': 'live vs frozen', 'declared-vs-frozen': 'declared vs frozen' };

export function DriftTable({ drift }: { drift: readonly DriftEntry[] }) {
  if (drift.length === 0) return null;
  return (
    <div className="table-wrap">
      <table className="table table--compact table--cards drift-table" aria-label="Drifted fields">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Drift</th>
            <th scope="col">Expected</th>
            <th scope="col">Actual</th>
            <th scope="col">Between</th>
            <th scope="col">First seen</th>
          </tr>
        </thead>
        <tbody>
          {drift.map((d, i) => {
            const secret = secretDriftText(d);
            return (
              <tr key={`${d.source}:${d.path}:${i}`} data-drift-path={d.path}>
                <th scope="row" data-label="Field" className="mono">
                  <DriftPath path={d.path} />
                </th>
                <td data-label="Drift">
                  <StateBadge tone={KIND_TONE[d.kind] ?? 'drifted'} label={secret ? 'secret changed' : d.kind} />
                  {secret && <span className="small" data-field="secret-drift"> {secret}</span>}
                </td>
                <td data-label="Expected" className="mono wrap">
                  {driftValue(d.expected)}
                </td>
                <td data-label="Actual" className="mono wrap">
                  {driftValue(d.actual)}
                </td>
                <td data-label="Between">{SOURCE_LABEL[d.source] ?? d.source}</td>
                <td data-label="First seen">
                  <Time iso={d.firstSeen} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function DriftPath({ path }: { path: string }) {
  const { container, rest } = splitContainerPath(path);
  if (!container) return <>{path}</>;
  return (
    <>
      <span className="strong">{rest}</span>
      <span className="drift-table__container small"> in {container}</span>
    </>
  );
}

export function ThreeViews({ declared, frozen, live, drift, availability, frozenFromRecord }: Props) {
  const [onlyDrifted, setOnlyDrifted] = useState(false);
  const driftPaths = useMemo(() => new Set(drift.map((d) => normalisePath(d.path))), [drift]);
  const declaredRows = useMemo(() => flattenFields(declared, '', driftPaths), [declared, driftPaths]);
  const frozenRows = useMemo(() => flattenFields(frozen, '', driftPaths), [frozen, driftPaths]);
  const liveRows = useMemo(() => flattenFields(live, '', driftPaths), [live, driftPaths]);

  const declaredDrift = drift.filter((d) => d.source === 'declared-vs-frozen');
  const liveDrift = drift.filter((d) => d.source === 'live-vs-frozen');
  const unavailable = availability === 'unavailable';
  const driftKey = drift.map((d) => `${d.source}:${d.path}`).join('|') + `:${availability}`;

  return (
    <div className="views">
      <div className="views__toolbar">
        <label className="checkbox">
          <input type="checkbox" checked={onlyDrifted} onChange={(e) => setOnlyDrifted(e.target.checked)} disabled={drift.length === 0} />
          Only drifted fields
        </label>
      </div>
      <div className="views__columns">
        <ViewColumn title="Declared" subtitle="spec, as applied" testId="view-declared" driftKey={driftKey}>
          <FieldList rows={declaredRows} drift={declaredDrift} stripSpec onlyDrifted={onlyDrifted} ghosts={false} />
        </ViewColumn>
        <ViewColumn title="Frozen" subtitle={frozenFromRecord ? `input of deployment ${frozenFromRecord}` : 'input of the current deployment'} testId="view-frozen" driftKey={driftKey}>
          {availability === 'loading' ? (
            <p className="muted">Loading…</p>
          ) : frozenFromRecord ? (
            <FieldList rows={frozenRows} drift={drift} counterpart={live != null ? liveRows : undefined} onlyDrifted={onlyDrifted} />
          ) : unavailable ? (
            <Empty title="Not available from this server yet">This server does not serve the views API; the declared spec is shown alone.</Empty>
          ) : frozen == null ? (
            <Empty title="No deployment yet">Nothing has been frozen for this service: it has not been deployed.</Empty>
          ) : (
            <FieldList rows={frozenRows} drift={drift} counterpart={live != null ? liveRows : undefined} onlyDrifted={onlyDrifted} />
          )}
        </ViewColumn>
        <ViewColumn title="Live" subtitle="what the host runs" testId="view-live" driftKey={driftKey}>
          {availability === 'loading' ? (
            <p className="muted">Loading…</p>
          ) : unavailable ? (
            <Empty title="Not available from this server yet">Live observations appear here once the server reports them.</Empty>
          ) : live == null ? (
            <Empty title="Not observed yet">No container of this service has been seen on its server.</Empty>
          ) : (
            <FieldList rows={liveRows} drift={liveDrift} counterpart={frozen != null ? frozenRows : undefined} onlyDrifted={onlyDrifted} />
          )}
        </ViewColumn>
      </div>
    </div>
  );
}

function ViewColumn({ title, subtitle, testId, driftKey, children }: { title: string; subtitle: string; testId: string; driftKey: string; children: ReactNode }) {
  const body = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Bring the first drifted field into view inside the column (not the page) when drift changes.
    const el = body.current;
    const row = el?.querySelector<HTMLElement>('[data-drifted="true"]');
    if (!el || !row) return;
    if (row.offsetTop < el.scrollTop || row.offsetTop + row.offsetHeight > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, row.offsetTop - 32);
  }, [driftKey]);
  return (
    <section className="view" data-testid={testId} aria-label={`${title} view`}>
      <header className="view__header">
        <h3>{title}</h3>
        <span className="muted small">{subtitle}</span>
      </header>
      {/* It scrolls on its own: focusable, so the keyboard can scroll it too. */}
      <div className="view__body" ref={body} tabIndex={0} role="region" aria-label={`${title} fields`}>
        {children}
      </div>
    </section>
  );
}

function FieldList({
  rows,
  drift,
  counterpart,
  stripSpec = false,
  onlyDrifted,
  ghosts: withGhosts = true,
}: {
  rows: FieldRow[];
  drift: readonly DriftEntry[];
  /** The view secrets are compared with (frozen ↔ live). */
  counterpart?: FieldRow[];
  stripSpec?: boolean;
  onlyDrifted: boolean;
  /** Add a line for drift entries this view has no field for (not for declared: its shape differs). */
  ghosts?: boolean;
}) {
  // Drift entries with no row here (a field missing from this view) still get a line, so every
  // drifted field is visible in every column it concerns.
  const ghosts = withGhosts ? drift.filter((d) => !rows.some((r) => driftFor(r.path, [d], { stripSpec }).length > 0)) : [];
  const shown = rows.map((row) => ({ row, hits: driftFor(row.path, drift, { stripSpec }) })).filter((r) => !onlyDrifted || r.hits.length > 0);
  if (shown.length === 0 && ghosts.length === 0) return <p className="muted">{onlyDrifted ? 'No drifted field in this view.' : 'Empty.'}</p>;

  // Fields of each container sit under its name, with paths relative to it.
  const groups = new Map<string, Line[]>();
  const add = (path: string, line: Omit<Line, 'path' | 'label'>) => {
    const { container = '', rest } = splitContainerPath(path);
    groups.set(container, [...(groups.get(container) ?? []), { ...line, path, label: rest }]);
  };
  for (const { row, hits } of shown) {
    add(row.path, { display: row.display, kind: hits[0]?.kind, secretState: row.secret && counterpart ? compareSecret(row, counterpart) : undefined });
  }
  for (const d of ghosts) add(d.path, { display: d.kind === 'unexpected' ? 'not in this view' : 'missing', kind: d.kind, ghost: true });

  return (
    <>
      {[...groups].map(([container, lines]) => (
        <div key={container} className="fields__group">
          {container ? <h4 className="fields__container">container {container}</h4> : groups.size > 1 && <h4 className="fields__container">deployment</h4>}
          <dl className="fields">
            {lines.map((line) => (
              <div
                key={`${line.ghost ? 'ghost:' : ''}${line.path}`}
                className={`fields__row${line.kind ? ` fields__row--${line.kind}` : ''}${line.ghost ? ' fields__row--ghost' : ''}`}
                data-path={line.path}
                data-drifted={line.kind ? 'true' : undefined}
              >
                <dt className="fields__path">{line.label}</dt>
                <dd className={`fields__value${line.ghost ? ' muted' : ''}`}>
                  {line.display}
                  {line.secretState && <StateBadge tone={line.secretState === 'unchanged' ? 'synced' : 'drifted'} label={line.secretState} />}
                  {line.kind && <span className="sr-only"> (drifted: {line.kind})</span>}
                </dd>
              </div>
            ))}
          </dl>
        </div>
      ))}
    </>
  );
}

interface Line {
  path: string;
  label: string;
  display: string;
  kind?: DriftEntry['kind'];
  secretState?: SecretComparison;
  ghost?: boolean;
}
