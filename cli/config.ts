// Where the CLI talks to and with which credentials: flags, then environment, then the named
// context of the config file, then defaults.
// The token itself never leaves this module except inside the Authorization header.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDuration as parseCoreDuration } from '../core/duration.js';
import { HoldfastError } from '../core/errors.js';
import { defaultDataDir } from '../core/data-dir.js';
import { chooseContext, effectiveNamespace, parseConfigFile, type ConfigFile, type NamedContext } from './config-file.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7420';
export const DEFAULT_LISTEN = '127.0.0.1:7420';
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface GlobalFlags {
  server?: string;
  token?: string;
  /** PEM file of the authority that signed the server's certificate (kubectl's flag). */
  certificateAuthority?: string;
  namespace?: string;
  requestTimeout?: string;
  /** A named context of the config file (env HOLDFAST_CONTEXT; default its current-context). */
  context?: string;
}

export interface ClientConfig {
  server: string;
  token?: string;
  /** Where the token came from, for messages: `--token`, `HOLDFAST_TOKEN` or the token file's path. */
  tokenSource: string;
  requestTimeoutMs: number;
  /** PEM certificates trusted for https:// instead of the system's authorities (a self-signed server). */
  ca?: string;
}

type Env = Record<string, string | undefined>;

const configDir = (env: Env) => join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'holdfast');

/** Where `holdfast login` keeps the session token (mode 0600); it is used before the admin token. */
export function sessionFile(env: Env = process.env): string {
  return join(configDir(env), 'session');
}

/** The named contexts (cli/config-file.ts), mode 0600. */
export function configFile(env: Env = process.env): string {
  return join(configDir(env), 'config');
}

/** The config file, or undefined when there is none. */
export async function readConfigFile(path: string, readText: (path: string) => Promise<string>): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readText(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new HoldfastError('Forbidden', `cannot read the config file ${path} (${code ?? 'read error'})`);
  }
  return parseConfigFile(text, path);
}

/** A duration flag as kubectl takes them (`30s`, `1m30s`, `2h`, also `7d`); a bare number is seconds; 0 means none. */
export const parseDuration = (text: string, what = 'duration'): number => parseCoreDuration(text, { what, bareSeconds: true });

// Characters an HTTP header value may hold; anything else would make fetch throw an error that
// quotes the header, and with it the token.
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export async function resolveClientConfig(
  flags: GlobalFlags,
  env: Env = process.env,
  readText: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<ClientConfig> {
  const { path, chosen } = await chosenContext(flags, env, readText);
  const context = chosen?.context ?? {};
  const server = normaliseServerUrl(flags.server ?? env.HOLDFAST_URL ?? context.server ?? DEFAULT_SERVER);
  const requestTimeoutMs = flags.requestTimeout !== undefined ? parseDuration(flags.requestTimeout) : DEFAULT_REQUEST_TIMEOUT_MS;

  let token: string | undefined;
  let tokenSource: string;
  if (flags.token !== undefined) {
    token = flags.token.trim();
    tokenSource = '--token';
  } else if (env.HOLDFAST_TOKEN) {
    token = env.HOLDFAST_TOKEN.trim();
    tokenSource = 'HOLDFAST_TOKEN';
  } else if (context.token) {
    token = context.token.trim();
    tokenSource = `context "${chosen!.name}" in ${path}`;
  } else {
    tokenSource = sessionFile(env);
    token = await readTokenFile(tokenSource, readText);
    if (!token) {
      tokenSource = join(defaultDataDir(env), 'admin.token');
      token = await readTokenFile(tokenSource, readText);
    }
  }
  if (token !== undefined && !TOKEN_CHARS.test(token)) {
    throw new HoldfastError('BadRequest', `the token from ${tokenSource} contains spaces or control characters; it cannot be sent`);
  }
  const caFile = flags.certificateAuthority ?? env.HOLDFAST_CA_FILE ?? context['certificate-authority'];
  const caSource = flags.certificateAuthority !== undefined ? '--certificate-authority' : env.HOLDFAST_CA_FILE ? 'HOLDFAST_CA_FILE' : `context "${chosen?.name}" in ${path}`;
  const ca = caFile ? await readCaFile(caFile, caSource, readText) : undefined;
  return { server, token: token || undefined, tokenSource, requestTimeoutMs, ...(ca ? { ca } : {}) };
}

/** The context the flags, HOLDFAST_CONTEXT or the file's current-context name, and the file's path. */
async function chosenContext(flags: GlobalFlags, env: Env, readText: (path: string) => Promise<string>): Promise<{ path: string; chosen?: NamedContext }> {
  const path = configFile(env);
  const named = flags.context !== undefined ? { name: flags.context, source: '--context' } : env.HOLDFAST_CONTEXT ? { name: env.HOLDFAST_CONTEXT, source: 'HOLDFAST_CONTEXT' } : undefined;
  return { path, chosen: chooseContext(await readConfigFile(path, readText), named, path) };
}

/** The project commands use: -n, else the chosen context's namespace (the config file is read only then). */
export async function resolveNamespace(
  flags: GlobalFlags & { allNamespaces?: boolean },
  env: Env = process.env,
  readText: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<string | undefined> {
  if (flags.namespace !== undefined || flags.allNamespaces) return effectiveNamespace(flags.namespace, flags.allNamespaces, undefined);
  return effectiveNamespace(undefined, false, (await chosenContext(flags, env, readText)).chosen);
}

async function readCaFile(path: string, source: string, readText: (path: string) => Promise<string>): Promise<string> {
  let text: string;
  try {
    text = await readText(path);
  } catch (err) {
    throw new HoldfastError('BadRequest', `cannot read the certificate authority file ${path} from ${source} (${(err as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new HoldfastError('BadRequest', `the certificate authority file ${path} from ${source} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return text;
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
