// Reconnect schedule for a kept session: full-jitter exponential delays that grow with consecutive
// failures and start over after a success.
import { fullJitterDelay, type BackoffPolicy } from '../core/backoff.js';

export const DEFAULT_RECONNECT_POLICY: BackoffPolicy = { baseMs: 250, capMs: 30_000 };

export class ReconnectBackoff {
  #failures = 0;

  constructor(
    readonly policy: BackoffPolicy = DEFAULT_RECONNECT_POLICY,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failed attempts since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  nextDelay(): number {
    const delay = fullJitterDelay(this.#failures, this.policy, this.random);
    this.#failures++;
    return delay;
  }

  reset(): void {
    this.#failures = 0;
  }
}
