// A plain in-memory HostObserver (core/observers.ts): what the execution plane did per server, for
// conditions and tests; the metrics module implements the same interface with prom-client.
import type { HostObserver, SessionState } from '../core/observers.js';

export interface ServerActivity {
  dockerApiCalls: number;
  execs: number;
  reconnects: number;
}

export class HostCounters implements HostObserver {
  readonly #byServer = new Map<string, ServerActivity>();

  dockerApiCall(server: string): void {
    this.#entry(server).dockerApiCalls++;
  }

  exec(server: string): void {
    this.#entry(server).execs++;
  }

  sessionState(server: string, state: SessionState, previous: SessionState): void {
    if (state === 'connected' && previous === 'reconnecting') this.#entry(server).reconnects++;
  }

  get(server: string): ServerActivity {
    return { ...this.#entry(server) };
  }

  #entry(server: string): ServerActivity {
    let entry = this.#byServer.get(server);
    if (!entry) {
      entry = { dockerApiCalls: 0, execs: 0, reconnects: 0 };
      this.#byServer.set(server, entry);
    }
    return entry;
  }
}

/** Fans one report out to several observers. */
export function combineObservers(...observers: Array<HostObserver | undefined>): HostObserver {
  const present = observers.filter((o): o is HostObserver => o !== undefined);
  return {
    dockerApiCall: (server) => present.forEach((o) => o.dockerApiCall?.(server)),
    exec: (server) => present.forEach((o) => o.exec?.(server)),
    sessionState: (server, state, previous) => present.forEach((o) => o.sessionState?.(server, state, previous)),
  };
}
