// How often drift may be healed: a crashing container would otherwise be put back, crash, and be
// put back again forever. Heals in one window are spaced out (each waits twice as long as the one
// before, as Kubernetes backs off a crash loop) and capped. Pure: the caller passes when the recent
// heals were made.

export interface HealBudget {
  /** Heals allowed within one window. */
  maxHeals: number;
  windowMs: number;
  /** The wait after the first heal in the window before the next; each further heal doubles it. */
  firstWaitMs?: number;
}

export const DEFAULT_HEAL_BUDGET: Required<HealBudget> = { maxHeals: 5, windowMs: 5 * 60_000, firstWaitMs: 5000 };

export type HealVerdict =
  | { allowed: true; healsInWindow: number }
  /**
   * `budget`: the window holds maxHeals heals; `retryAt` is when the oldest that must leave it does.
   * `spacing`: the last heal was too recent; `retryAt` is `waitMs` after it.
   */
  | { allowed: false; healsInWindow: number; retryAt: Date; why: 'budget' }
  | { allowed: false; healsInWindow: number; retryAt: Date; why: 'spacing'; waitMs: number };

/** Whether one more heal may start now, given the times of earlier heals (any order). */
export function healVerdict(now: Date, earlierHeals: readonly Date[], budget: HealBudget = DEFAULT_HEAL_BUDGET): HealVerdict {
  const since = now.getTime() - budget.windowMs;
  const inWindow = earlierHeals.map((d) => d.getTime()).filter((t) => t > since && t <= now.getTime()).sort((a, b) => a - b);
  if (inWindow.length >= budget.maxHeals) {
    // The window frees a slot when the heal that brings the count under the limit ages out.
    const oldestThatMustLeave = inWindow[inWindow.length - budget.maxHeals];
    return { allowed: false, healsInWindow: inWindow.length, retryAt: new Date(oldestThatMustLeave + budget.windowMs), why: 'budget' };
  }
  if (inWindow.length > 0) {
    const waitMs = (budget.firstWaitMs ?? DEFAULT_HEAL_BUDGET.firstWaitMs) * 2 ** (inWindow.length - 1);
    const retryAt = inWindow[inWindow.length - 1] + waitMs;
    if (now.getTime() < retryAt) return { allowed: false, healsInWindow: inWindow.length, retryAt: new Date(retryAt), why: 'spacing', waitMs };
  }
  return { allowed: true, healsInWindow: inWindow.length };
}
