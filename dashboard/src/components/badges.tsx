import type { ServerState, ServiceState } from '../model/status.js';

const SERVICE_LABELS: Record<ServiceState, string> = {
  synced: 'Synced',
  progressing: 'Progressing',
  drifted: 'Drifted',
  failed: 'Failed',
  pending: 'Not observed',
};

const SERVER_LABELS: Record<ServerState, string> = {
  ready: 'Ready',
  attention: 'Attention',
  blocked: 'Blocked',
};

export const serviceStateLabel = (s: ServiceState) => SERVICE_LABELS[s];
export const serverStateLabel = (s: ServerState) => SERVER_LABELS[s];

export function StateBadge({ tone, label, title }: { tone: string; label: string; title?: string }) {
  return (
    <span className={`badge badge--${tone}`} title={title}>
      <span className="badge__dot" aria-hidden="true" />
      {label}
    </span>
  );
}

export function ServiceBadge({ state, reason }: { state: ServiceState; reason?: string }) {
  return <StateBadge tone={state} label={SERVICE_LABELS[state]} title={reason} />;
}

export function ServerBadge({ state, reason }: { state: ServerState; reason?: string }) {
  return <StateBadge tone={state} label={SERVER_LABELS[state]} title={reason} />;
}

