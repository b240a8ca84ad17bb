// `holdfast backup run|list|restore backuppolicy/NAME -n PROJECT`: take a backup now, list the kept
// backups (from the policy's status), and stream one back into the volume it was taken from.
import type { Restored } from '../../core/backup/restored.js';
import { HoldfastError } from '../../core/errors.js';
import { formatBytes as formatSize } from '../../core/format-bytes.js';
import { API_VERSION, type Resource } from '../../core/resource.js';
import type { BackupPolicyStatus } from '../../core/schema/types.generated.js';
import type { HoldfastClient } from '../client.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { confirmRestore } from '../destructive.js';
import { age, renderTable, toJson, toYaml } from '../printers.js';
import { parseNamespacedArg } from '../service-arg.js';

/** A backup streams for as long as the volume takes: the request waits up to this long. */
const BACKUP_REQUEST_TIMEOUT_MS = 65 * 60_000;

export interface PolicyRef {
  namespace: string;
  name: string;
}

/** `backuppolicy/web-data`, `bp/web-data` or `backuppolicy web-data`, with its project from -n. */
export function parsePolicyArg(args: readonly string[], namespace: string | undefined, verb: string): PolicyRef {
  return parseNamespacedArg(args, namespace, verb, { kind: 'BackupPolicy', example: 'backuppolicy/web-data', words: ['backup policy', 'backup policies'] });
}

const policyPath = (ref: PolicyRef) => `/apis/${API_VERSION}/namespaces/${encodeURIComponent(ref.namespace)}/backuppolicies/${encodeURIComponent(ref.name)}`;

type Backup = NonNullable<BackupPolicyStatus['backups']>[number];

/** `12.3 MiB`, or `<unknown>` when status has no size. */
export function formatBytes(n: number | undefined): string {
  return n === undefined ? '<unknown>' : formatSize(n);
}

export function backupTable(backups: readonly Backup[], now: Date): string {
  const rows = [['NAME', 'SIZE', 'SHA256', 'VERIFIED', 'AGE']];
  for (const b of backups) {
    rows.push([b.name, formatBytes(b.sizeBytes), b.sha256 ? b.sha256.slice(0, 12) : '<unknown>', b.verified === undefined ? '-' : b.verified ? 'yes' : 'NO', age(b.time, now)]);
  }
  return renderTable(rows);
}

function outputFormat(text: string | undefined): 'table' | 'json' | 'yaml' {
  if (text === undefined || text === '') return 'table';
  if (text === 'json' || text === 'yaml') return text;
  throw new HoldfastError('BadRequest', `unable to match a printer suitable for the output format "${text}", allowed formats are: json,yaml`);
}

export async function runBackupList(ctx: CommandContext, args: string[], flags: { output?: string }): Promise<number> {
  const format = outputFormat(flags.output);
  const ref = parsePolicyArg(args, ctx.namespace, 'backup list');
  const client = await ctx.client();
  const policy = (await client.request({ method: 'GET', path: policyPath(ref) })) as Resource;
  const status = (policy.status ?? {}) as BackupPolicyStatus;
  const items = status.backups ?? [];
  if (format !== 'table') {
    const list = { apiVersion: API_VERSION, kind: 'BackupList', metadata: {}, items };
    ctx.out(format === 'json' ? toJson(list) : toYaml(list));
    return EXIT_OK;
  }
  if (items.length === 0) ctx.out(`No backups of backuppolicy/${ref.name} in project ${ref.namespace} yet.\n`);
  else ctx.out(backupTable(items, ctx.now()));
  if (status.nextScheduleTime) ctx.out(`Next scheduled backup: ${status.nextScheduleTime}\n`);
  return EXIT_OK;
}

export async function runBackupRun(ctx: CommandContext, args: string[]): Promise<number> {
  const ref = parsePolicyArg(args, ctx.namespace, 'backup run');
  const client = await ctx.client();
  const done = (await runBackup(client, ref)) as {
    backup: Backup;
    location: string;
    copies: Array<{ destination: string; location?: string; result: string; reason?: string; message?: string }>;
    verification?: { result: string; message: string };
    removed: string[];
  };
  ctx.out(`backuppolicy/${ref.name} backed up: ${done.backup.name} (${formatBytes(done.backup.sizeBytes)}, sha256 ${done.backup.sha256}) at ${done.location}\n`);
  if (done.copies.length > 1) {
    for (const c of done.copies) ctx.out(`  ${c.destination}: ${c.result === 'Succeeded' ? `copied to ${c.location}` : `failed (${c.reason}): ${c.message}`}\n`);
  }
  if (done.verification) ctx.out(`verification ${done.verification.result.toLowerCase()}: ${done.verification.message}\n`);
  if (done.removed.length) ctx.out(`retention deleted ${done.removed.length} old backup(s): ${done.removed.join(', ')}\n`);
  return EXIT_OK;
}

export interface RestoreFlags {
  backup?: string;
  from?: string;
  /** Another Service of the project to restore a database backup into. */
  service?: string;
  /** Another database name to restore a database backup into. */
  database?: string;
  yes?: boolean;
}

/** The body of POST …/restore for the flags. */
export function restoreBody(flags: RestoreFlags): Record<string, string> {
  return {
    backup: flags.backup!,
    ...(flags.from ? { destination: flags.from } : {}),
    ...(flags.service ? { service: flags.service } : {}),
    ...(flags.database ? { database: flags.database } : {}),
  };
}

/** `backuppolicy/shop-db: shop-db-….pgdump (1.2 MiB) restored into database shop_copy (made for it) of service db: container … on server …`. */
export function restoredLine(policy: string, done: Restored): string {
  return `backuppolicy/${policy}: ${done.backup} (${formatBytes(done.sizeBytes)}) restored into ${done.path}${done.createdDatabase ? ' (made for it)' : ''} of service ${done.service}: container ${done.container} on server ${done.server}\n`;
}

export async function runBackupRestore(ctx: CommandContext, args: string[], flags: RestoreFlags): Promise<number> {
  const ref = parsePolicyArg(args, ctx.namespace, 'backup restore');
  if (!flags.backup) throw new HoldfastError('BadRequest', `backup restore needs --backup NAME (see holdfast backup list backuppolicy/${ref.name} -n ${ref.namespace})`);
  const client = await ctx.client();
  const policy = (await client.request({ method: 'GET', path: policyPath(ref) })) as Resource;
  if (!(await confirmRestore(ctx, policy, flags.backup, flags.yes, { service: flags.service, database: flags.database }))) return EXIT_ERROR;
  const done = (await client.request({ method: 'POST', path: `${policyPath(ref)}/restore`, body: restoreBody(flags), timeoutMs: BACKUP_REQUEST_TIMEOUT_MS })) as Restored;
  ctx.out(restoredLine(ref.name, done));
  return EXIT_OK;
}

function runBackup(client: HoldfastClient, ref: PolicyRef): Promise<unknown> {
  return client.request({ method: 'POST', path: `${policyPath(ref)}/run`, body: {}, timeoutMs: BACKUP_REQUEST_TIMEOUT_MS });
}
