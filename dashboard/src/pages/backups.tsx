// Backups: every BackupPolicy with its schedule, next run, last backup and verification, its recent
// runs with their steps, and the backups it keeps (size, checksum, verified, where). "Back up now" and "Restore…" are offered where an
// access review allows them; a restore asks for the volume's (or database's) name to be typed.
import { useState } from 'react';
import { API_BASE, resourcePath } from '../api/client.js';
import type {
  BackupPolicyDestinationsItem,
  BackupPolicySpec,
  BackupPolicyStatus,
  BackupPolicyStatusBackup,
  BackupPolicyStatusLastBackupCopy,
  BackupPolicyStatusRun,
} from '../../../core/schema/types.generated.js';
import type { Resource } from '../api/types.js';
import { StateBadge } from '../components/badges.js';
import { ConfirmAction } from '../components/confirm-dialog.js';
import { Fact } from '../components/facts.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { Time } from '../components/time.js';
import { href } from '../model/route.js';
import { duration, formatBytes } from '../model/time.js';
import { useCan } from '../state/access.js';
import { usePoll, useRemote } from '../state/remote.js';
import { useSession } from '../state/session.js';
import { useTitle } from '../state/title.js';

const REFRESH_MS = 10_000;
/** A backup or a restore is answered when it is done: as long as the CLI waits. */
const BACKUP_ACTION_TIMEOUT_MS = 65 * 60_000;

type KeptBackup = BackupPolicyStatusBackup;
/** The single destination reads as a list item without a name. */
type Destination = Omit<BackupPolicyDestinationsItem, 'name'> & { name?: string };
type Copy = BackupPolicyStatusLastBackupCopy;
type Run = BackupPolicyStatusRun;

type BackupPolicy = Resource<BackupPolicySpec, BackupPolicyStatus>;

interface BackupRun {
  backup: KeptBackup;
  location: string;
  copies: Copy[];
  verification?: { result: string; message: string };
  removed: string[];
}

interface BackupRestore {
  backup: string;
  destination: string;
  server: string;
  container: string;
  path: string;
  sizeBytes: number;
}

const RESULT_TONE: Record<string, string> = { Succeeded: 'synced', Failed: 'failed', Running: 'progressing' };

/** Where a destination keeps backups: `/srv/b on edge-1`, `s3://bucket/prefix`. */
function destinationText(d: Destination): string {
  if (d.s3) return `s3://${d.s3.bucket}/${d.s3.prefix ?? ''}`;
  return `${d.path}${d.server ? ` on ${d.server}` : ''}`;
}

function destinationsOf(spec: BackupPolicySpec): Destination[] {
  return spec.destinations?.length ? spec.destinations : spec.destination ? [spec.destination] : [];
}

export function Backups() {
  useTitle('Backups');
  const [changed, setChanged] = useState(0);
  const policies = useRemote<{ items: BackupPolicy[] }>(`${API_BASE}/backuppolicies`, `${usePoll(true, REFRESH_MS)}:${changed}`);
  return (
    <div className="page">
      <header className="page__header">
        <h1>Backups</h1>
        {policies.status === 'ready' && <p className="page__sub">{`${policies.data.items.length} backup polic${policies.data.items.length === 1 ? 'y' : 'ies'}`}</p>}
      </header>
      {policies.status === 'loading' ? (
        <Loading label="Loading backup policies…" />
      ) : policies.status === 'error' || policies.status === 'unavailable' ? (
        <ErrorState title="Could not load the backup policies" error={policies.error} />
      ) : policies.data.items.length === 0 ? (
        <Empty title="No backup policies yet">
          Declare one with a <code>BackupPolicy</code> manifest (the service, its volume or database, a schedule and a destination) and <code>holdfast apply</code> it.
        </Empty>
      ) : (
        policies.data.items.map((p) => <PolicyCard key={`${p.metadata.namespace}/${p.metadata.name}`} policy={p} onChanged={() => setChanged((n) => n + 1)} />)
      )}
    </div>
  );
}

/** What a restore overwrites, as the user types it to confirm: the volume's or the database's name. */
function restoreTargetName(spec: Pick<BackupPolicySpec, 'target'>): string {
  return spec.target.volume ?? spec.target.database?.name ?? spec.target.database?.type ?? '';
}

function PolicyCard({ policy, onChanged }: { policy: BackupPolicy; onChanged: () => void }) {
  const { client } = useSession();
  const namespace = policy.metadata.namespace ?? '';
  const name = policy.metadata.name;
  const spec = policy.spec!;
  const status = policy.status ?? {};
  const runAccess = useCan('run', 'backuppolicies', namespace, name);
  const restoreAccess = useCan('restore', 'backuppolicies', namespace, name);
  const canRun = runAccess === 'allowed';
  const canRestore = restoreAccess === 'allowed';
  const [result, setResult] = useState<{ text: string; failed?: boolean }>();
  const path = resourcePath('backuppolicies', { namespace, name });
  const target = spec.target.volume ? `volume ${spec.target.volume}` : `${spec.target.database?.type ?? ''} database ${spec.target.database?.name ?? ''}`.trim();
  const kept = [...(status.backups ?? [])].sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''));
  const headingId = `policy-${namespace}-${name}`;
  return (
    <section className="card" aria-labelledby={headingId} data-policy={`${namespace}/${name}`}>
      <div className="card__header">
        <h2 id={headingId}>
          {namespace}/{name}
        </h2>
        {canRun && (
          <ConfirmAction
            label="Back up now"
            title={`Back up ${namespace}/${name} now?`}
            confirmLabel="Back up now"
            run={() => client.json<BackupRun>(`${path}/run`, { method: 'POST', body: {}, timeoutMs: BACKUP_ACTION_TIMEOUT_MS })}
            onDone={(done) => {
              setResult({
                text:
                  `Backed up ${done.backup.name} (${formatBytes(done.backup.sizeBytes)}, sha256 …${done.backup.sha256?.slice(-8) ?? ''}) at ${done.location}` +
                  done.copies
                    .filter((c) => c.result === 'Failed')
                    .map((c) => `; not copied to ${c.destination} (${c.reason ?? 'Failed'})`)
                    .join('') +
                  (done.verification ? `; verification ${done.verification.result.toLowerCase()}: ${done.verification.message}` : '') +
                  (done.removed.length ? `; retention deleted ${done.removed.length} old backup(s)` : ''),
              });
              onChanged();
            }}
          >
            <p>
              Takes a backup of the {target} of service <a href={href.service(namespace, spec.service)}>{spec.service}</a> now, whatever the schedule, into{' '}
              {destinationsOf(spec).map(destinationText).join(', ')}. Retention then keeps {spec.retention?.keepLast ?? 7} of the newest.
            </p>
          </ConfirmAction>
        )}
      </div>
      <dl className="facts">
        <Fact label="Service">
          <a href={href.service(namespace, spec.service)}>{spec.service}</a>
        </Fact>
        <Fact label="What">{target}</Fact>
        <Fact label="Schedule">
          <span className="mono">{spec.schedule}</span>
          {spec.suspend ? ' (suspended)' : ''}
        </Fact>
        <Fact label="Next run">{spec.suspend ? 'suspended' : <Time iso={status.nextScheduleTime} />}</Fact>
        <Fact label={spec.destinations?.length ? 'Destinations' : 'Destination'}>
          {destinationsOf(spec).map((d, i) => (
            <span key={d.name ?? i}>
              {i > 0 ? ', ' : ''}
              {d.name ? `${d.name}: ` : ''}
              <span className="mono">{destinationText(d)}</span>
            </span>
          ))}
        </Fact>
        <Fact label="Last backup">
          {status.lastBackup ? (
            <>
              <StateBadge tone={RESULT_TONE[status.lastBackup.result ?? ''] ?? 'neutral'} label={status.lastBackup.result ?? 'unknown'} /> <Time iso={status.lastBackup.completionTime} />
            </>
          ) : (
            'none yet'
          )}
        </Fact>
        <Fact label="Verification">
          {status.lastVerification ? (
            <>
              <StateBadge tone={RESULT_TONE[status.lastVerification.result ?? ''] ?? 'neutral'} label={status.lastVerification.result ?? 'unknown'} />{' '}
              {status.lastVerification.restoreTested ? 'restore tested' : 'checksum checked'} <Time iso={status.lastVerification.time} />
            </>
          ) : spec.verification?.enabled === false ? (
            'off'
          ) : (
            'not yet'
          )}
        </Fact>
      </dl>
      {runAccess === 'refused' && restoreAccess === 'refused' && (
        <p className="muted small" data-testid="actions-refused">
          Your roles (or your token's scopes) allow neither taking nor restoring backups here: that needs backup:run or backup:restore.
        </p>
      )}
      {result && (
        <div className={`action-result${result.failed ? ' action-result--failed' : ''}`} role="status" aria-live="polite" data-testid="backup-result">
          {result.text}
        </div>
      )}
      <BackupRuns runs={status.runs ?? []} />
      {kept.length === 0 ? (
        <Empty title="No backups kept yet" />
      ) : (
        <div className="table-wrap">
          <table className="table table--compact">
            <caption className="sr-only">Backups of {namespace}/{name}</caption>
            <thead>
              <tr>
                <th scope="col">Backup</th>
                <th scope="col">Taken</th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">SHA-256</th>
                <th scope="col">Verified</th>
                {canRestore && (
                  <th scope="col">
                    <span className="sr-only">Restore</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {kept.map((b) => (
                <tr key={b.name} data-backup={b.name}>
                  <td className="mono">
                    {b.name}
                    {b.encrypted ? ' (encrypted)' : ''}
                  </td>
                  <td>
                    <Time iso={b.time} />
                  </td>
                  <td className="num">{formatBytes(b.sizeBytes)}</td>
                  <td className="mono small" title={b.sha256}>
                    {b.sha256 ? `${b.sha256.slice(0, 12)}…` : '—'}
                  </td>
                  <td>{b.verified === undefined ? '—' : b.verified ? 'yes' : 'no'}</td>
                  {canRestore && (
                    <td>
                      <RestoreAction policy={policy} backup={b} onRestored={(done) => setResult({ text: `Restored ${done.backup} (${formatBytes(done.sizeBytes)}) into ${done.path} of container ${done.container} on server ${done.server}` })} />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RestoreAction({ policy, backup, onRestored }: { policy: BackupPolicy; backup: KeptBackup; onRestored: (done: BackupRestore) => void }) {
  const { client } = useSession();
  const [typed, setTyped] = useState('');
  const namespace = policy.metadata.namespace ?? '';
  const expected = restoreTargetName(policy.spec!);
  const inputId = `restore-${namespace}-${policy.metadata.name}-${backup.name}`;
  return (
    <ConfirmAction
      label="Restore…"
      buttonClassName="button button--quiet"
      title={`Restore ${backup.name}?`}
      confirmLabel="Restore"
      destructive
      ready={typed === expected}
      onOpen={() => setTyped('')}
      run={() => client.json<BackupRestore>(`${resourcePath('backuppolicies', { namespace, name: policy.metadata.name })}/restore`, { method: 'POST', body: { backup: backup.name }, timeoutMs: BACKUP_ACTION_TIMEOUT_MS })}
      onDone={onRestored}
    >
      <p>
        Overwrites what {policy.spec!.target.volume ? `volume ${expected}` : `database ${expected}`} of service {namespace}/{policy.spec!.service} holds now with the backup taken{' '}
        <Time iso={backup.time} /> ({formatBytes(backup.sizeBytes)}). What was written since then is lost.
      </p>
      <label className="field" htmlFor={inputId}>
        <span className="field__label">
          Type <strong className="mono">{expected}</strong> to confirm
        </span>
        <input id={inputId} className="input" autoComplete="off" spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />
      </label>
    </ConfirmAction>
  );
}

const STEP_TONE: Record<string, string> = { Succeeded: 'synced', Failed: 'failed' };

/** The policy's recent runs, newest first; the newest is open with its steps. */
function BackupRuns({ runs }: { runs: readonly Run[] }) {
  const now = Date.now();
  if (!runs.length) return null;
  return (
    <section className="backup-runs" aria-label="Recent runs">
      <h3 className="section-title">Recent runs</h3>
      <ol className="deployments">
        {runs.map((run, i) => (
          <li key={run.startTime} className={`deployment deployment--${RESULT_TONE[run.result] ?? 'neutral'}`} data-run={run.startTime} data-result={run.result}>
            <details open={i === 0}>
              <summary className="deployment__summary">
                <span className="deployment__title mono">{run.backup ?? 'no backup'}</span>
                <StateBadge tone={RESULT_TONE[run.result] ?? 'neutral'} label={run.result} />
                <span className="muted small">{run.actor ? `by ${run.actor}` : ''}</span>
                <span className="deployment__time small">
                  <Time iso={run.startTime} /> · {duration(run.startTime, run.completionTime, now)}
                </span>
              </summary>
              {run.message && (
                <p className={`deployment__message${run.result === 'Failed' ? ' deployment__message--failed' : ''}`}>
                  {run.reason && <strong>{run.reason}: </strong>}
                  {run.message}
                </p>
              )}
              {run.steps?.length ? (
                <ol className="steps">
                  {run.steps.map((step, j) => (
                    <li key={j} className={`step step--${STEP_TONE[step.result] ?? 'neutral'}`} data-step={step.destination ? `${step.name} ${step.destination}` : step.name} data-result={step.result}>
                      <div className="step__summary">
                        <span className={`step__icon step__icon--${STEP_TONE[step.result] ?? 'neutral'}`} aria-hidden="true" />
                        <span className="step__name">{step.destination ? `${step.name} · ${step.destination}` : step.name}</span>
                        <span className="muted small">{step.result}</span>
                        <span className="step__message small">
                          {[step.sizeBytes !== undefined ? formatBytes(step.sizeBytes) : undefined, step.sha256 ? `sha256 …${step.sha256.slice(-8)}` : undefined, step.message].filter(Boolean).join(' · ')}
                        </span>
                        <span className="step__time small">{duration(step.startTime, step.completionTime, now)}</span>
                      </div>
                    </li>
                  ))}
                </ol>
              ) : (
                <p className="muted small deployment__meta">{run.result === 'Running' ? 'Running…' : 'No steps recorded.'}</p>
              )}
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}
