import { useSyncExternalStore } from 'react';
import { absoluteTime, relativeTime } from '../model/time.js';

// One shared clock that ticks every few seconds, so "12 s ago" stays true without a timer per cell.
const TICK_MS = 5_000;
let now = Date.now();
const listeners = new Set<() => void>();
let timer: number | undefined;

function subscribe(listener: () => void) {
  listeners.add(listener);
  if (timer === undefined) {
    timer = window.setInterval(() => {
      now = Date.now();
      for (const l of listeners) l();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      window.clearInterval(timer);
      timer = undefined;
    }
  };
}

export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now);
}

export function Time({ iso }: { iso: string | undefined }) {
  const current = useNow();
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={absoluteTime(iso)}>
      {relativeTime(iso, Math.max(current, Date.now()))}
    </time>
  );
}
