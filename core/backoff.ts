// Full-jitter exponential backoff (AWS architecture blog's "full jitter"): the delay for attempt n is
// uniform in [0, min(cap, base * 2^n)]. Randomness is injected so tests need no sleeping.
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
