// `holdfast serve`: runs the API server. The CLI's bundle leaves this module out and loads it from
// dist/ when serve runs, so client commands never carry express and the store, and the server's
// errors are formatted by the same module copies that threw them. Unset flags stay unset: the
// server resolves them (flags → env → defaults).
import type { ServeOptions } from '../../control-plane/config.js';
import { EXIT_ERROR } from '../context.js';
import { formatError } from '../error-output.js';

export type ServeFlags = Omit<ServeOptions, 'databaseUrl'>;

export async function runServe(flags: ServeFlags): Promise<void> {
  try {
    const { serve } = await import('../../control-plane/start.js');
    await serve({ ...flags, databaseUrl: process.env.DATABASE_URL || undefined });
  } catch (err) {
    process.stderr.write(formatError(err, process.env.HOLDFAST_DEBUG === '1'));
    // A server that could not start exits, whatever handles its partial start left open.
    process.exit(EXIT_ERROR);
  }
}
