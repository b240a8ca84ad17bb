// `holdfast secret set NAME KEY=VALUE… [--from-file KEY=PATH]… -n PROJECT`: sets keys of a Secret,
// creating it when missing; keys not named keep their values (a merge patch). Values are never
// printed, not even in errors: only key names are.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { HoldfastError } from '../../core/errors.js';
import { kindInfo, type Resource } from '../../core/resource.js';
import { ApiError } from '../client.js';
import { EXIT_OK, type CommandContext } from '../context.js';

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_VALUE_BYTES = 1024 * 1024;

export interface SecretSetFlags {
  fromFile?: string[];
  type?: string;
}

export async function runSecretSet(ctx: CommandContext, name: string, pairs: string[], flags: SecretSetFlags): Promise<number> {
  const namespace = ctx.namespace;
  if (!namespace) throw new HoldfastError('BadRequest', `a Secret belongs to a project: pass -n PROJECT (e.g. holdfast secret set ${name} … -n shop)`);
  const stringData: Record<string, string> = {};
  const data: Record<string, string> = {};
  const seen = new Set<string>();
  const claim = (key: string, from: string) => {
    if (!SECRET_KEY.test(key)) throw new HoldfastError('BadRequest', `invalid key "${key}" in ${from}: use letters, digits, '-', '_' and '.'`);
    if (seen.has(key)) throw new HoldfastError('BadRequest', `key "${key}" is given more than once`);
    seen.add(key);
  };
  for (const [i, pair] of pairs.entries()) {
    const eq = pair.indexOf('=');
    // Never quote the argument itself: it may be a value given without its key.
    if (eq <= 0) throw new HoldfastError('BadRequest', `argument ${i + 1} after the Secret name is not KEY=VALUE (not shown: it may hold a value)`);
    const key = pair.slice(0, eq);
    claim(key, 'KEY=VALUE');
    stringData[key] = pair.slice(eq + 1);
  }
  for (const spec of flags.fromFile ?? []) {
    const eq = spec.indexOf('=');
    const [key, path] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [basename(spec), spec];
    claim(key, `--from-file ${spec}`);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new HoldfastError('BadRequest', `cannot read ${path} for key "${key}": ${(err as NodeJS.ErrnoException).code ?? 'read error'}`);
    }
    if (bytes.length > MAX_VALUE_BYTES) throw new HoldfastError('BadRequest', `${path} is larger than 1 MiB: too large for a Secret value`);
    data[key] = bytes.toString('base64');
  }
  if (seen.size === 0) throw new HoldfastError('BadRequest', 'nothing to set: give KEY=VALUE arguments or --from-file KEY=PATH');

  const kind = kindInfo('Secret')!;
  const client = await ctx.client();
  const spec = { ...(flags.type ? { type: flags.type } : {}), ...(Object.keys(stringData).length ? { stringData } : {}), ...(Object.keys(data).length ? { data } : {}) };
  const keys = [...seen].sort().join(', ');
  let result: Resource;
  let verb: string;
  const existing = await client.getIfExists(kind, name, namespace);
  if (existing) {
    result = await client.mergePatch(kind, name, namespace, { spec });
    verb = 'configured';
  } else {
    try {
      result = await client.create(kind, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name, namespace }, spec });
      verb = 'created';
    } catch (err) {
      // Created by someone else in between: merge into theirs.
      if (!(err instanceof ApiError) || err.serverReason !== 'AlreadyExists') throw err;
      result = await client.mergePatch(kind, name, namespace, { spec });
      verb = 'configured';
    }
  }
  const all = (result.status as { keys?: string[] } | undefined)?.keys ?? [];
  ctx.out(`secret/${name} ${verb} (set: ${keys}; keys now: ${all.join(', ') || keys})\n`);
  return EXIT_OK;
}
