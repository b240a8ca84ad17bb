// What the control plane reports about its own activity, as interfaces: the controllers and the
// execution plane call them, observability/metrics.ts implements them with prom-client.

/** The reconcile loop's activity, per controller. */
export interface ReconcileObserver {
  onReconcile(controller: { name: string; kind: string }, seconds: number, outcome: 'success' | 'error' | 'requeue'): void;
  onQueueDepth(controller: { name: string; kind: string }, depth: number): void;
}

/** The lifecycle of a kept SSH session to a server. */
export type SessionState =
  | 'idle' // never connected
  | 'connecting'
  | 'connected'
  | 'disconnected' // just lost; a reconnect follows unless reconnecting is off
  | 'reconnecting' // waiting out the backoff delay before the next attempt
  | 'failed' // stopped after a non-transient error; connect() tries again
  | 'closed';

/** The execution plane's activity, per server. */
export interface HostObserver {
  /** One Docker Engine API request sent to a server. */
  dockerApiCall?(server: string): void;
  /** One shell command run on a server. */
  exec?(server: string): void;
  /** A kept session changed state. */
  sessionState?(server: string, state: SessionState, previous: SessionState): void;
}
