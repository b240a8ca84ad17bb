// `holdfast serve`: runs the API server. The CLI's bundle leaves this module out and loads it from
// dist/ when serve runs, so client commands never carry express and the store, and the server's
// errors are formatted by the same module copies that threw them. Unset flags stay unset: the
// server resolves them (flags → env → defaults).
import { setFlagsFromString } from 'node:v8';
import type { ServeOptions } from '../../control-plane/config.js';
import { EXIT_ERROR } from '../context.js';
import { formatError } from '../error-output.js';

export type ServeFlags = Omit<ServeOptions, 'databaseUrl'>;

export async function runServe(flags: ServeFlags): Promise<void> {
  // V8 keeps a small young generation and grows the old one in smaller steps, so a server that has
  // absorbed a burst (a thousand Services declared at once) falls back to what it holds instead of
  // keeping the burst's heap until its next full collection: at 1000 Services on PostgreSQL ~130 MB
  // rather than 160–270 MB, at no measured CPU cost (bench/RESULTS.md). Set here, before the server
  // allocates, rather than on the command's first line: there it made every client command pay for
  // V8's flag check rejecting Node's own code cache (~20–30 ms a start). The heap reads the flag
  // when it sizes and grows itself, and the store's thread starts after it is set.
  setFlagsFromString('--optimize-for-size');
  try {
    const { serve } = await import('../../control-plane/start.js');
    await serve({ ...flags, databaseUrl: process.env.DATABASE_URL || undefined });
  } catch (err) {
    process.stderr.write(formatError(err, process.env.HOLDFAST_DEBUG === '1'));
    // A server that could not start exits, whatever handles its partial start left open.
    process.exit(EXIT_ERROR);
  }
}
