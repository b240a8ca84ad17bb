// `holdfast api-resources`: the kinds the server serves, from its discovery document.
import { API_VERSION } from '../../core/resource.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { renderTable } from '../printers.js';

interface ApiResource {
  name: string;
  shortNames?: string[];
  namespaced: boolean;
  kind: string;
}

export async function runApiResources(ctx: CommandContext): Promise<number> {
  const client = await ctx.client();
  const discovery = (await client.discovery()) as { resources?: ApiResource[] };
  // Subresources (services/status) are not kinds of their own.
  const resources = (discovery.resources ?? []).filter((r) => !r.name.includes('/'));
  const rows = [
    ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'],
    ...resources.map((r) => [r.name, (r.shortNames ?? []).join(','), API_VERSION, String(r.namespaced), r.kind]),
  ];
  ctx.out(renderTable(rows));
  return EXIT_OK;
}
