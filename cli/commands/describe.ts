// `holdfast describe KIND [NAME…]`: one object at a time, with its conditions and recent events.
import { kindInfo, type KindInfo, type Resource } from '../../core/resource.js';
import { ApiError, type HoldfastClient } from '../client.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { describeObject } from '../describe-printer.js';
import { formatServerError } from '../error-output.js';
import { parseResourceArgs, requireNamespace } from '../resource-args.js';
import { SERVER_SECTION_FIELDS, serverResourcesSection } from '../server-describe.js';
import { readServiceSections, SERVICE_SECTION_FIELDS } from '../service-describe.js';
import { sortEvents } from './get.js';

export interface DescribeFlags {
  selector?: string;
}

export async function runDescribe(ctx: CommandContext, args: string[], flags: DescribeFlags): Promise<number> {
  const selections = parseResourceArgs(args);
  const client = await ctx.client();
  let failed = false;
  let first = true;
  for (const { kind, names } of selections) {
    const objects: Resource[] = [];
    if (names.length === 0) {
      const list = await client.listAll(kind, { namespace: kind.namespaced ? ctx.namespace : undefined, labelSelector: flags.selector });
      objects.push(...list.items);
    }
    for (const name of names) {
      try {
        objects.push(await client.get(kind, name, requireNamespace(kind, name, ctx.namespace)));
      } catch (err) {
        if (!(err instanceof ApiError && err.httpStatus === 404)) throw err;
        failed = true;
        ctx.err(formatServerError(err));
      }
    }
    for (const object of objects) {
      if (!first) ctx.out('\n\n');
      first = false;
      const events = kind.kind === 'Event' ? [] : await eventsFor(client, kind, object);
      // A Service's deployment and drift, and a Server's resources, get sections of their own.
      const { sections, omitStatus } =
        kind.kind === 'Service'
          ? { sections: await readServiceSections(client, object, ctx.now()), omitStatus: SERVICE_SECTION_FIELDS }
          : kind.kind === 'Server'
            ? { sections: [serverResourcesSection(object).join('\n')], omitStatus: SERVER_SECTION_FIELDS }
            : { sections: [], omitStatus: [] };
      ctx.out(describeObject({ object, kind, events, now: ctx.now(), sections, omitStatus }));
    }
  }
  return failed ? EXIT_ERROR : EXIT_OK;
}

/** Events whose involvedObject is this object; undefined (shown as such) when they cannot be listed. */
async function eventsFor(client: HoldfastClient, kind: KindInfo, object: Resource): Promise<Resource[] | undefined> {
  try {
    const list = await client.listAll(kindInfo('Event')!, {
      namespace: kind.namespaced ? object.metadata.namespace : undefined,
      fieldSelector: `involvedObject.kind=${kind.kind},involvedObject.name=${object.metadata.name}`,
    });
    return sortEvents(list.items);
  } catch (err) {
    if (err instanceof ApiError && err.httpStatus !== 401) return undefined;
    throw err;
  }
}
