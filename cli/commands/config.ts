// `holdfast config get-contexts | current-context | use-context NAME | set-context NAME [--server URL]
// [--certificate-authority FILE] [--token TOKEN] [--namespace PROJECT]`: the named contexts of ~/.config/holdfast/config,
// as kubectl config does them. Tokens are never printed; the file is written with mode 0600.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HoldfastError } from '../../core/errors.js';
import { configFile, readConfigFile, type GlobalFlags } from '../config.js';
import { emptyConfig, serializeConfigFile, setContext, useContext, type ConfigFile, type ContextSettings } from '../config-file.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { renderTable } from '../printers.js';

const read = (path: string) => readFile(path, 'utf8');

async function load(path: string): Promise<ConfigFile> {
  return (await readConfigFile(path, read)) ?? emptyConfig();
}

async function save(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const next = `${path}.${process.pid}.tmp`;
  await writeFile(next, serializeConfigFile(config), { mode: 0o600 });
  await chmod(next, 0o600);
  await rename(next, path);
}

export async function runGetContexts(ctx: CommandContext): Promise<number> {
  const config = await load(configFile());
  if (config.contexts.length === 0) {
    ctx.err(`No contexts in ${configFile()}: add one with holdfast config set-context NAME --server URL\n`);
    return EXIT_OK;
  }
  const rows = config.contexts.map((c) => [
    c.name === config['current-context'] ? '*' : '',
    c.name,
    c.context.server ?? '',
    c.context['certificate-authority'] ?? '',
    c.context.token ? 'token' : 'session',
    c.context.namespace ?? '',
  ]);
  ctx.out(renderTable([['CURRENT', 'NAME', 'SERVER', 'CERTIFICATE-AUTHORITY', 'AUTH', 'NAMESPACE'], ...rows]));
  return EXIT_OK;
}

export async function runCurrentContext(ctx: CommandContext): Promise<number> {
  const current = (await load(configFile()))['current-context'];
  if (!current) {
    ctx.err('error: current-context is not set\n');
    return EXIT_ERROR;
  }
  ctx.out(`${current}\n`);
  return EXIT_OK;
}

export async function runUseContext(ctx: CommandContext, name: string): Promise<number> {
  const path = configFile();
  await save(path, useContext(await load(path), name, path));
  ctx.out(`Switched to context "${name}".\n`);
  return EXIT_OK;
}

export async function runSetContext(ctx: CommandContext, name: string, flags: Pick<GlobalFlags, 'server' | 'certificateAuthority' | 'token' | 'namespace'>): Promise<number> {
  const path = configFile();
  const config = await load(path);
  const settings: ContextSettings = {};
  if (flags.server !== undefined) {
    if (flags.server !== '' && !/^https?:\/\/[^/\s]+/.test(flags.server)) throw new HoldfastError('BadRequest', `invalid --server "${flags.server}": expected e.g. https://holdfast.example:7420`);
    settings.server = flags.server;
  }
  if (flags.certificateAuthority !== undefined) settings['certificate-authority'] = flags.certificateAuthority === '' ? '' : resolve(flags.certificateAuthority);
  if (flags.token !== undefined) settings.token = flags.token.trim();
  if (flags.namespace !== undefined) settings.namespace = flags.namespace.trim();
  const existed = config.contexts.some((c) => c.name === name);
  await save(path, setContext(config, name, settings));
  ctx.out(`Context "${name}" ${existed ? 'modified' : 'created'}.\n`);
  return EXIT_OK;
}
