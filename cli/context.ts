// What every command receives: where to write, the clock, the API client (made on first use, so
// commands that need no server never read a token), the namespace from -n, and Ctrl-C handling.
import type { HoldfastClient } from './client.js';

export interface CommandContext {
  out(text: string): void;
  err(text: string): void;
  now(): Date;
  client(): Promise<HoldfastClient>;
  /** `-n/--namespace`: the Project. */
  namespace?: string;
  /**
   * A signal the first Ctrl-C aborts, for commands that stream until interrupted (watches) and
   * want to end cleanly; until a command asks for it, Ctrl-C ends the process as usual.
   */
  interruptSignal(): AbortSignal;
}

/** Exit codes: kubectl's. `diff` adds 1 = differences, 2 = error. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
/** `diff` and `drift`: 1 means differences were found, so an error is 2. */
export const EXIT_DIFF_ERROR = 2;
/** A wait ended by Ctrl-C (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;
