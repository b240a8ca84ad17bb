import type { KubeEvent } from '../api/types.js';
import { href } from '../model/route.js';
import { StateBadge } from './badges.js';
import { Time } from './time.js';

export function eventTime(e: KubeEvent): string {
  return e.lastTimestamp ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '';
}

export function newestFirst(events: readonly KubeEvent[]): KubeEvent[] {
  return [...events].sort((a, b) => eventTime(b).localeCompare(eventTime(a)));
}

export function ObjectLink({ object }: { object: KubeEvent['involvedObject'] }) {
  const label = `${object.kind.toLowerCase()}/${object.name}`;
  if (object.kind === 'Service' && object.namespace) return <a href={href.service(object.namespace, object.name)}>{`${object.namespace}/${object.name}`}</a>;
  if (object.kind === 'Server') return <a href={href.server(object.name)}>{label}</a>;
  return <span>{object.namespace ? `${object.namespace}/${label}` : label}</span>;
}

export function EventList({ events, showObject = true }: { events: readonly KubeEvent[]; showObject?: boolean }) {
  return (
    <ol className="timeline">
      {events.map((e) => (
        <li key={`${e.metadata.namespace}/${e.metadata.name}`} className={`timeline__item timeline__item--${e.type === 'Warning' ? 'warning' : 'normal'}`}>
          <div className="timeline__head">
            <StateBadge tone={e.type === 'Warning' ? 'failed' : 'neutral'} label={e.type} />
            <strong className="timeline__reason">{e.reason}</strong>
            {showObject && <ObjectLink object={e.involvedObject} />}
            <span className="timeline__time">
              <Time iso={eventTime(e)} />
              {e.count && e.count > 1 ? <span className="muted"> · ×{e.count}</span> : null}
            </span>
          </div>
          <p className="timeline__message">{e.message}</p>
        </li>
      ))}
    </ol>
  );
}
