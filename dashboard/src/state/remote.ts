// A one-off API read that refreshes when its key changes, keeping the last answer on screen while
// the next one loads. A 404 is an answer of its own ("not available"), not an error: parts of the
// API arrive over time and the dashboard says so instead of failing.
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client.js';
import { useSession } from './session.js';

export type Remote<T> =
  | { status: 'loading' }
  | { status: 'ready'; data: T; refreshing: boolean }
  | { status: 'unavailable'; error: ApiError }
  | { status: 'error'; error: unknown };

export function useRemote<T>(path: string | undefined, refreshKey: unknown = undefined): Remote<T> {
  const { client } = useSession();
  const [state, setState] = useState<Remote<T>>({ status: 'loading' });
  // A path that answered 404 is not asked again on every refresh: it comes back on the next visit.
  const missing = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!path || missing.current === path) return;
    const controller = new AbortController();
    setState((prev) => (prev.status === 'ready' ? { ...prev, refreshing: true } : prev));
    client.json<T>(path, { signal: controller.signal }).then(
      (data) => setState({ status: 'ready', data, refreshing: false }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.code === 404) {
          missing.current = path;
          setState({ status: 'unavailable', error });
        }
        else setState({ status: 'error', error });
      },
    );
    return () => controller.abort();
  }, [client, path, refreshKey]);
  return state;
}

/** A counter that ticks every `ms` while `active`: a refresh key for polling. */
export function usePoll(active: boolean, ms: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => setTick((t) => t + 1), ms);
    return () => window.clearInterval(timer);
  }, [active, ms]);
  return tick;
}
