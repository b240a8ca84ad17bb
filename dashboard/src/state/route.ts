import { useSyncExternalStore } from 'react';
import { parseRoute, type Route } from '../model/route.js';

let hash = window.location.hash;
let route = parseRoute(hash);

function subscribe(listener: () => void) {
  const onChange = () => {
    if (window.location.hash === hash) return;
    hash = window.location.hash;
    route = parseRoute(hash);
    listener();
  };
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  return useSyncExternalStore(subscribe, () => route);
}

/** Changes the route without adding a history entry (filters typed into a form). */
export function replaceRoute(next: string) {
  window.history.replaceState(null, '', next);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
