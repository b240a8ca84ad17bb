// How often drift may be healed: a crashing container would otherwise be put back, crash, and be
// put back again forever. Pure: the caller passes when the recent heals were made.

export interface HealBudget {
  /** Heals allowed within one window. */
  maxHeals: number;
  windowMs: number;
}

export const DEFAULT_HEAL_BUDGET: HealBudget = { maxHeals: 5, windowMs: 5 * 60_000 };

export type HealVerdict =
  | { allowed: true; healsInWindow: number }
  /** `retryAt`: when the oldest heal in the window leaves it. */
  | { allowed: false; healsInWindow: number; retryAt: Date };

/** Whether one more heal fits the budget, given the times of earlier heals (any order). */
export function healVerdict(now: Date, earlierHeals: readonly Date[], budget: HealBudget = DEFAULT_HEAL_BUDGET): HealVerdict {
  const since = now.getTime() - budget.windowMs;
  const inWindow = earlierHeals.map((d) => d.getTime()).filter((t) => t > since && t <= now.getTime()).sort((a, b) => a - b);
  if (inWindow.length < budget.maxHeals) return { allowed: true, healsInWindow: inWindow.length };
  // The window frees a slot when the heal that brings the count under the limit ages out.
  const oldestThatMustLeave = inWindow[inWindow.length - budget.maxHeals];
  return { allowed: false, healsInWindow: inWindow.length, retryAt: new Date(oldestThatMustLeave + budget.windowMs) };
}
