// Where the CLI talks to and with which credentials: flags, then environment, then defaults.
// The token itself never leaves this module except inside the Authorization header.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDurationMs } from '../core/deploy/units.js';
import { HoldfastError } from '../core/errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7420';
export const DEFAULT_LISTEN = '127.0.0.1:7420';
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface GlobalFlags {
  server?: string;
  token?: string;
  namespace?: string;
  requestTimeout?: string;
}

export interface ClientConfig {
  server: string;
  token?: string;
  /** Where the token came from, for messages: `--token`, `HOLDFAST_TOKEN` or the token file's path. */
  tokenSource: string;
  requestTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

/** The data directory `holdfast serve` uses; the CLI reads the admin token from it. */
export function defaultDataDir(env: Env = process.env): string {
  return env.HOLDFAST_DATA_DIR || join(homedir(), '.holdfast');
}

/** Parses kubectl-style durations (Go's: `30s`, `500ms`, `1m30s`, `2h`); a bare number is seconds; 0 means none. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const ms = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : parseDurationMs(trimmed);
  if (ms === undefined) throw new HoldfastError('BadRequest', `invalid duration "${text}": use a number with a unit, e.g. 30s, 2m, 1m30s`);
  return Math.round(ms);
}

// Characters an HTTP header value may hold; anything else would make fetch throw an error that
// quotes the header, and with it the token.
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export async function resolveClientConfig(
  flags: GlobalFlags,
  env: Env = process.env,
  readText: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<ClientConfig> {
  const server = normaliseServerUrl(flags.server ?? env.HOLDFAST_URL ?? DEFAULT_SERVER);
  const requestTimeoutMs = flags.requestTimeout !== undefined ? parseDuration(flags.requestTimeout) : DEFAULT_REQUEST_TIMEOUT_MS;

  let token: string | undefined;
  let tokenSource: string;
  if (flags.token !== undefined) {
    token = flags.token.trim();
    tokenSource = '--token';
  } else if (env.HOLDFAST_TOKEN) {
    token = env.HOLDFAST_TOKEN.trim();
    tokenSource = 'HOLDFAST_TOKEN';
  } else {
    tokenSource = join(defaultDataDir(env), 'admin.token');
    token = await readTokenFile(tokenSource, readText);
  }
  if (token !== undefined && !TOKEN_CHARS.test(token)) {
    throw new HoldfastError('BadRequest', `the token from ${tokenSource} contains spaces or control characters; it cannot be sent`);
  }
  return { server, token: token || undefined, tokenSource, requestTimeoutMs };
}

async function readTokenFile(path: string, readText: (path: string) => Promise<string>): Promise<string | undefined> {
  try {
    return (await readText(path)).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new HoldfastError('Forbidden', `cannot read the token file ${path} (${code ?? 'read error'})`);
  }
}

function normaliseServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new HoldfastError('BadRequest', `invalid server URL "${text}": expected e.g. ${DEFAULT_SERVER}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HoldfastError('BadRequest', `invalid server URL "${text}": only http and https are supported`);
  }
  if (url.username || url.password) {
    throw new HoldfastError('BadRequest', 'the server URL must not carry credentials: pass the token with --token or HOLDFAST_TOKEN');
  }
  return url.toString().replace(/\/+$/, '');
}
