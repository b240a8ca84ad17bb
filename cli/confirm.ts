// Asking the user at the terminal before a command does something they may not expect.
import { createInterface } from 'node:readline/promises';
import { HoldfastError } from '../core/errors.js';

/** A person can answer: stdin is a terminal. */
export function stdinIsTerminal(): boolean {
  return process.stdin.isTTY === true;
}

/** Asks on the terminal; true only for y or yes. */
export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * The gate of a destructive command, once it has printed what it will change: `--yes` goes ahead, a
 * terminal is asked, and anything else is refused, since nobody could answer (scripts pass --yes).
 */
export async function confirmDestructive(what: string, opts: { yes?: boolean }): Promise<boolean> {
  if (opts.yes) return true;
  if (!stdinIsTerminal()) throw new HoldfastError('BadRequest', `refusing to ${what} without confirmation: stdin is not a terminal; pass --yes to go ahead`);
  return askYesNo(`${what[0].toUpperCase()}${what.slice(1)}?`);
}
