// A stricter limit on failed authentication than on anything else: each client (by IP address) may
// fail `maxFailures` times in any `windowMs`; past that its unauthenticated requests are answered
// 429 until the oldest failure leaves the window. Requests with a valid token are never limited.
// Memory is bounded: at most `maxClients` addresses are tracked, the stalest dropped first.

export interface FailedAuthLimits {
  maxFailures: number;
  windowMs: number;
  maxClients?: number;
}

export const DEFAULT_FAILED_AUTH_LIMITS: FailedAuthLimits = { maxFailures: 10, windowMs: 60_000, maxClients: 10_000 };

export class FailedAuthLimiter {
  /** Failure times per client, oldest first; Map order = least recently failed first. */
  private readonly failures = new Map<string, number[]>();
  private readonly maxClients: number;

  constructor(
    private readonly limits: FailedAuthLimits = DEFAULT_FAILED_AUTH_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limits.maxFailures > 0) || !(limits.windowMs > 0)) throw new Error('failed-auth limits must be positive');
    this.maxClients = limits.maxClients ?? DEFAULT_FAILED_AUTH_LIMITS.maxClients!;
  }

  /** Milliseconds until `client` may try again; 0 when it is under the limit. */
  retryAfterMs(client: string): number {
    const times = this.recent(client);
    if (times.length < this.limits.maxFailures) return 0;
    return Math.max(1, times[times.length - this.limits.maxFailures] + this.limits.windowMs - this.now());
  }

  recordFailure(client: string): void {
    const times = this.recent(client);
    times.push(this.now());
    // Only the newest maxFailures matter for the decision.
    if (times.length > this.limits.maxFailures) times.splice(0, times.length - this.limits.maxFailures);
    this.failures.delete(client);
    this.failures.set(client, times);
    while (this.failures.size > this.maxClients) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(client: string): number[] {
    const times = this.failures.get(client);
    if (!times) return [];
    const cutoff = this.now() - this.limits.windowMs;
    while (times.length && times[0] <= cutoff) times.shift();
    if (!times.length) this.failures.delete(client);
    return times;
  }
}
