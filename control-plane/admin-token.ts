// The admin token of a fresh control plane: made on first start (or on --reset-admin-token) and
// written to a file only its owner can read; the terminal is told where, never the value.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import type { TokenStore } from '../security/tokens.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
const ADMIN_TOKEN_NAME = 'admin';

/**
 * On first start there is no token: create an admin token and write it to a 0600 file in the data
 * dir; the terminal is told where it is, never the value. Later starts leave tokens alone.
 */
export async function ensureAdminToken(tokens: TokenStore, dataDir: string, log: Logger) {
  if ((await tokens.count()) > 0) return;
  const { token } = await tokens.create(ADMIN_TOKEN_NAME, ['*']);
  announceAdminToken(writeAdminToken(dataDir, token), 'created', log);
}

/** `serve --reset-admin-token`: revokes the unrevoked token named admin, if any, and makes a new one. */
export async function resetAdminToken(tokens: TokenStore, dataDir: string, log: Logger) {
  const by = { actor: 'system:holdfast serve --reset-admin-token' };
  const { token } = await tokens.replace(ADMIN_TOKEN_NAME, ['*'], by);
  announceAdminToken(writeAdminToken(dataDir, token), 'reset', log);
}

function writeAdminToken(dataDir: string, token: string): string {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  // Replaced, not rewritten in place: a file someone else made (with looser modes) is not reused.
  rmSync(file, { force: true });
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return file;
}

function announceAdminToken(file: string, what: 'created' | 'reset', log: Logger) {
  process.stderr.write(`holdfast: ${what} the admin token; it is in ${file} (readable by this user only)\n`);
  log.info({ file }, `admin token ${what}`);
}

export function readAdminToken(dataDir: string): string | undefined {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
