// `holdfast get KIND [NAME…]`: tables like kubectl's, or the objects as json/yaml/names; --watch
// keeps printing rows as the objects change.
import { HoldfastError } from '../../core/errors.js';
import type { KindInfo, Resource } from '../../core/resource.js';
import { ApiError, isStatusObject, type HoldfastClient } from '../client.js';
import { columnsFor, eventLastSeen } from '../columns.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { formatServerError } from '../error-output.js';
import {
  asList,
  parseOutputFormat,
  resourceName,
  TableWriter,
  toJson,
  toYaml,
  withTypeMeta,
  type OutputFormat,
} from '../printers.js';
import { parseForArg, parseResourceArgs, requireNamespace, type ResourceSelection } from '../resource-args.js';

export interface GetFlags {
  output?: string;
  allNamespaces?: boolean;
  selector?: string;
  fieldSelector?: string;
  watch?: boolean;
  /** `--no-headers`: table rows only, as kubectl prints them for scripts. */
  noHeaders?: boolean;
  /** `--for service/web` on events. */
  for?: string;
}

interface Section {
  kind: KindInfo;
  objects: Resource[];
  /** The list's resourceVersion, where a watch starts. */
  resourceVersion?: string;
}

export async function runGet(ctx: CommandContext, args: string[], flags: GetFlags): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const selections = parseResourceArgs(args);
  if (flags.allNamespaces && ctx.namespace) throw new HoldfastError('BadRequest', 'pass either -n or -A, not both');
  const namespace = flags.allNamespaces ? undefined : ctx.namespace;
  const fieldSelector = eventsFieldSelector(selections, flags, namespace);
  const client = await ctx.client();

  const sections: Section[] = [];
  let failed = false;
  for (const selection of selections) {
    const section = await fetchSection(client, selection, namespace, flags.selector, fieldSelector, (err) => {
      failed = true;
      ctx.err(formatServerError(err));
    });
    sections.push(section);
  }

  const namedOne = selections.length === 1 && selections[0].names.length === 1;
  const severalKinds = sections.length > 1;
  // Without -n a namespaced listing spans every project: show which one each row belongs to.
  const showNamespace = !namespace;
  const total = sections.reduce((n, s) => n + s.objects.length, 0);
  // One writer per table; --watch keeps using the first, so its rows line up with what was printed.
  const tables = sections.map(() => new TableWriter(ctx.out));

  if (format === 'json' || format === 'yaml') {
    const items = sections.flatMap((s) => s.objects.map((o) => withTypeMeta(o, s.kind)));
    if (items.length || !namedOne) {
      const value = namedOne && items.length === 1 ? items[0] : asList(items);
      ctx.out(format === 'json' ? toJson(value) : toYaml(value));
    }
  } else if (format === 'name') {
    for (const s of sections) for (const o of s.objects) ctx.out(`${resourceName(withTypeMeta(o, s.kind))}\n`);
  } else {
    let first = true;
    sections.forEach((s, i) => {
      if (!s.objects.length) return;
      if (!first) ctx.out('\n');
      first = false;
      printTable(tables[i], s, {
        format,
        showNamespace: showNamespace && s.kind.namespaced,
        qualifyNames: severalKinds,
        now: ctx.now(),
        header: !flags.noHeaders,
      });
    });
  }
  if (total === 0 && !failed && !namedOne) ctx.err(noResourcesMessage(namespace));

  if (flags.watch && !failed) {
    if (sections.length !== 1) throw new HoldfastError('BadRequest', 'you may only watch a single resource type');
    await watchSection(ctx, client, tables[0], sections[0], selections[0], {
      namespace,
      labelSelector: flags.selector,
      fieldSelector,
      format,
      showNamespace: showNamespace && sections[0].kind.namespaced,
      noHeaders: flags.noHeaders,
    });
  }
  return failed ? EXIT_ERROR : EXIT_OK;
}

function noResourcesMessage(namespace: string | undefined): string {
  return namespace ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n';
}

/** `--for` becomes a field selector on the involved object; only events have one. */
function eventsFieldSelector(selections: ResourceSelection[], flags: GetFlags, namespace: string | undefined): string | undefined {
  if (!flags.for) return flags.fieldSelector;
  if (selections.length !== 1 || selections[0].kind.kind !== 'Event') throw new HoldfastError('BadRequest', '--for works with events only: holdfast get events --for service/web');
  const target = parseForArg(flags.for);
  if (target.kind.namespaced && !namespace) requireNamespace(target.kind, target.name, namespace);
  const parts = [`involvedObject.kind=${target.kind.kind}`, `involvedObject.name=${target.name}`];
  if (flags.fieldSelector) parts.push(flags.fieldSelector);
  return parts.join(',');
}

async function fetchSection(
  client: HoldfastClient,
  selection: ResourceSelection,
  namespace: string | undefined,
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
  onNotFound: (err: ApiError) => void,
): Promise<Section> {
  const { kind, names } = selection;
  if (names.length === 0) {
    const list = await client.listAll(kind, { namespace: kind.namespaced ? namespace : undefined, labelSelector, fieldSelector });
    const objects = kind.kind === 'Event' ? sortEvents(list.items) : list.items;
    return { kind, objects, resourceVersion: list.metadata?.resourceVersion };
  }
  const objects: Resource[] = [];
  for (const name of names) {
    const ns = requireNamespace(kind, name, namespace);
    try {
      objects.push(await client.get(kind, name, ns));
    } catch (err) {
      if (err instanceof ApiError && err.httpStatus === 404) onNotFound(err);
      else throw err;
    }
  }
  return { kind, objects, resourceVersion: objects[0]?.metadata.resourceVersion };
}

/** Oldest first, as kubectl sorts events, so the newest is nearest the prompt. */
export function sortEvents(events: Resource[]): Resource[] {
  const at = (e: Resource) => Date.parse(eventLastSeen(e) ?? '') || 0;
  return [...events].sort((a, b) => at(a) - at(b));
}

interface TableOptions {
  format: OutputFormat;
  showNamespace: boolean;
  qualifyNames: boolean;
  now: Date;
  header: boolean;
}

function printTable(table: TableWriter, section: Section, opts: TableOptions): void {
  const columns = columnsFor(section.kind, opts.format === 'wide');
  const rows: string[][] = [];
  if (opts.header) rows.push([...(opts.showNamespace ? ['NAMESPACE'] : []), ...columns.map((c) => c.header)]);
  for (const obj of section.objects) rows.push(tableRow(section.kind, obj, opts));
  table.print(rows);
}

function tableRow(kind: KindInfo, obj: Resource, opts: TableOptions): string[] {
  const columns = columnsFor(kind, opts.format === 'wide');
  const cells = columns.map((c) => (c.header === 'NAME' && opts.qualifyNames ? resourceName(withTypeMeta(obj, kind)) : c.value(obj, opts.now)));
  return [...(opts.showNamespace ? [kind.namespaced ? (obj.metadata.namespace ?? '') : ''] : []), ...cells];
}

interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  format: OutputFormat;
  showNamespace: boolean;
  noHeaders?: boolean;
}

/**
 * Streams changes after what was printed. A `410 Gone` (the server no longer has our starting
 * point) re-lists and resumes from the fresh list, as client-go's reflector does.
 */
async function watchSection(
  ctx: CommandContext,
  client: HoldfastClient,
  table: TableWriter,
  section: Section,
  selection: ResourceSelection,
  opts: WatchOptions,
): Promise<void> {
  const { kind } = section;
  const names = new Set(selection.names);
  let resourceVersion = section.resourceVersion;
  let headerDone = section.objects.length > 0 || !!opts.noHeaders;
  const signal = ctx.interruptSignal();
  while (!signal.aborted) {
    let gone = false;
    try {
      for await (const event of client.watch(kind, {
        namespace: kind.namespaced ? opts.namespace : undefined,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion,
        signal,
      })) {
        if (event.type === 'ERROR') {
          if (isStatusObject(event.object) && event.object.code === 410) {
            gone = true;
            break;
          }
          const message = isStatusObject(event.object) ? event.object.message : 'the watch failed';
          throw new HoldfastError('InternalError', `watch ended: ${message}`);
        }
        if (event.type === 'BOOKMARK' || isStatusObject(event.object)) {
          if (!isStatusObject(event.object)) resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          continue;
        }
        const obj = event.object;
        resourceVersion = obj.metadata.resourceVersion ?? resourceVersion;
        if (names.size && !names.has(obj.metadata.name)) continue;
        if (opts.format === 'json') ctx.out(toJson(withTypeMeta(obj, kind)));
        else if (opts.format === 'yaml') ctx.out(`---\n${toYaml(withTypeMeta(obj, kind))}`);
        else if (opts.format === 'name') ctx.out(`${resourceName(withTypeMeta(obj, kind))}\n`);
        else {
          const row = tableRow(kind, obj, { ...opts, qualifyNames: false, now: ctx.now(), header: false });
          if (!headerDone) {
            printTable(table, { kind, objects: [] }, { ...opts, qualifyNames: false, now: ctx.now(), header: true });
            headerDone = true;
          }
          table.print([row]);
        }
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.httpStatus === 410)) throw err;
      gone = true;
    }
    if (signal.aborted) return;
    if (!gone) return; // the server closed the stream
    const fresh = await client.listAll(kind, { namespace: kind.namespaced ? opts.namespace : undefined, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    resourceVersion = fresh.metadata?.resourceVersion;
  }
}
