// `holdfast token create|list|revoke`: API tokens. A token's value is printed once, on create, alone
// on stdout (so `TOKEN=$(holdfast token create …)` works); everything else goes to stderr.
import { HoldfastError } from '../../core/errors.js';
import { API_VERSION } from '../../core/resource.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { getAllPages } from '../paged-get.js';
import { age, humanDuration, parseOutputFormat, renderTable, toJson, toYaml } from '../printers.js';

const TOKENS_PATH = `/apis/${API_VERSION}/tokens`;

interface TokenInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

export interface TokenCreateFlags {
  name: string;
  scopes: string;
  expires?: string;
  subject?: string;
  output?: string;
}

export async function runTokenCreate(ctx: CommandContext, flags: TokenCreateFlags): Promise<number> {
  const scopes = flags.scopes.split(',').map((s) => s.trim()).filter(Boolean);
  if (scopes.length === 0) throw new HoldfastError('BadRequest', '--scopes needs at least one scope, e.g. --scopes deploy:read,deploy:start');
  const format = flags.output;
  if (format !== undefined && format !== 'json' && format !== 'yaml') throw new HoldfastError('BadRequest', `--output must be json or yaml (got "${format}")`);
  const client = await ctx.client();
  const created = (await client.request({
    method: 'POST',
    path: TOKENS_PATH,
    body: { name: flags.name, scopes, ...(flags.expires ? { expiresIn: flags.expires } : {}), ...(flags.subject ? { subject: flags.subject } : {}) },
  })) as TokenInfo & { token: string };
  if (format === 'json') ctx.out(toJson(created));
  else if (format === 'yaml') ctx.out(toYaml(created));
  else ctx.out(`${created.token}\n`);
  ctx.err(
    `token "${created.name}" created (id ${created.id}; scopes ${created.scopes.join(',')}; ${created.expiresAt ? `expires ${created.expiresAt}` : 'does not expire'}).\n` +
      'This is the only time its value is shown: store it now.\n',
  );
  return EXIT_OK;
}

export async function runTokenList(ctx: CommandContext, flags: { output?: string }): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const client = await ctx.client();
  const items = await getAllPages<TokenInfo>(client, TOKENS_PATH);
  if (format === 'json' || format === 'yaml') {
    const list = { apiVersion: API_VERSION, kind: 'TokenList', metadata: {}, items };
    ctx.out(format === 'json' ? toJson(list) : toYaml(list));
    return EXIT_OK;
  }
  if (format === 'name') {
    for (const t of items) ctx.out(`token/${t.name}\n`);
    return EXIT_OK;
  }
  if (items.length === 0) {
    ctx.err('No tokens found\n');
    return EXIT_OK;
  }
  const now = ctx.now();
  const rows = [
    ['NAME', 'ID', 'PREFIX', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'],
    ...items.map((t) => [
      t.name,
      t.id,
      `${t.prefix}…`,
      t.scopes.join(',') || '<none>',
      age(t.createdAt, now),
      expiry(t.expiresAt, now),
      t.lastUsedAt ? `${age(t.lastUsedAt, now)} ago` : '<never>',
      t.revokedAt ? `${age(t.revokedAt, now)} ago` : '',
    ]),
  ];
  ctx.out(renderTable(rows));
  return EXIT_OK;
}

export async function runTokenRevoke(ctx: CommandContext, nameOrId: string): Promise<number> {
  const client = await ctx.client();
  const revoked = (await client.request({ method: 'DELETE', path: `${TOKENS_PATH}/${encodeURIComponent(nameOrId)}` })) as TokenInfo;
  ctx.out(`token "${revoked.name}" (id ${revoked.id}) revoked\n`);
  return EXIT_OK;
}

function expiry(expiresAt: string | undefined, now: Date): string {
  if (!expiresAt) return '<never>';
  const at = Date.parse(expiresAt);
  return at <= now.getTime() ? `expired ${age(expiresAt, now)} ago` : `in ${humanDuration(at - now.getTime())}`;
}
