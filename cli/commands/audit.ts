// `holdfast audit [--since 1h] [-o json|yaml]`: who changed what, oldest first, from the server's
// audit log (every mutating call, dry runs and failures included).
import type { AuditEvent } from '../../core/audit-event.js';
import { HoldfastError } from '../../core/errors.js';
import { API_VERSION } from '../../core/resource.js';
import { parsePositiveDuration } from '../../core/duration.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { getAllPages } from '../paged-get.js';
import { parseOutputFormat, renderTable, toJson, toYaml } from '../printers.js';

export interface AuditFlags {
  since?: string;
  output?: string;
  limit?: string;
  kind?: string;
  actor?: string;
  verb?: string;
}

export async function runAudit(ctx: CommandContext, flags: AuditFlags): Promise<number> {
  const format = parseOutputFormat(flags.output);
  if (format === 'name' || format === 'wide') throw new HoldfastError('BadRequest', '--output must be json or yaml');
  // Checked here too, so a typo fails before any request.
  if (flags.since && !/^\d{4}-\d{2}-\d{2}T/.test(flags.since)) parsePositiveDuration(flags.since, '--since');
  let max = Infinity;
  if (flags.limit !== undefined) {
    max = Number(flags.limit);
    if (!Number.isInteger(max) || max <= 0) throw new HoldfastError('BadRequest', `--limit must be a positive integer (got "${flags.limit}")`);
  }
  const client = await ctx.client();
  const items = await getAllPages<AuditEvent>(
    client,
    `/apis/${API_VERSION}/auditlog`,
    { since: flags.since, kind: flags.kind, actor: flags.actor, verb: flags.verb, namespace: ctx.namespace },
    max,
  );
  if (format === 'json' || format === 'yaml') {
    const list = { apiVersion: API_VERSION, kind: 'AuditEventList', metadata: {}, items };
    ctx.out(format === 'json' ? toJson(list) : toYaml(list));
    return EXIT_OK;
  }
  if (items.length === 0) {
    ctx.err(flags.since ? `No audit events in the last ${flags.since}\n` : 'No audit events\n');
    return EXIT_OK;
  }
  const rows = [
    ['TIME', 'ACTOR', 'VERB', 'OBJECT', 'OUTCOME', 'MESSAGE'],
    ...items.map((e) => [
      e.time.replace(/\.\d+Z$/, 'Z'),
      e.actor,
      e.dryRun ? `${e.verb} (dry run)` : e.verb,
      [e.kind.toLowerCase(), e.namespace, e.name].filter(Boolean).join('/'),
      e.outcome,
      (e.message ?? '').replace(/\s+/g, ' '),
    ]),
  ];
  ctx.out(renderTable(rows));
  return EXIT_OK;
}
