// Hostile inputs shared by the hardening tests and the fuzzer.

/**
 * A "billion laughs" YAML document: each level is a list of `fanout` aliases of the level before,
 * so the last one stands for fanout^levels strings while the text stays a few hundred bytes.
 */
export function aliasBomb(levels = 9, fanout = 10, key = 'bomb'): string {
  const lines = ['l0: &l0 "lol"'];
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: fanout }, () => `*l${i - 1}`).join(', ')}]`);
  lines.push(`${key}: *l${levels}`);
  return lines.join('\n') + '\n';
}

/** `depth` nested JSON arrays around a number. */
export const deepJson = (depth: number): string => '['.repeat(depth) + '1' + ']'.repeat(depth);
