// The Resources section of `holdfast describe server`: memory, load, free disk with its trend, and
// what Docker's objects take, laid out as `docker system df` prints it. Pure.
import { formatBytes } from '../core/format-bytes.js';
import type { Resource } from '../core/resource.js';
import type { ServerStatus } from '../core/schema/types.generated.js';
import { renderTable } from './printers.js';

/** Status fields the section shows, left out of the generic Status block. */
export const SERVER_SECTION_FIELDS = ['resources'] as const;

const WIDTH = 'Load (1 min):'.length + 2;
const line = (title: string, value: string) => `  ${title.padEnd(WIDTH)}${value}`.trimEnd();
const DOCKER_OBJECTS = [
  ['images', 'Images'],
  ['containers', 'Containers'],
  ['volumes', 'Local Volumes'],
  ['buildCache', 'Build Cache'],
] as const;

export function serverResourcesSection(server: Resource): string[] {
  const resources = (server.status as ServerStatus | undefined)?.resources;
  if (!resources) return ['Resources:   <not measured yet>'];
  const out = ['Resources:'];
  if (resources.cpus !== undefined) out.push(line('CPUs:', String(resources.cpus)));
  const total = resources.memoryBytes;
  const available = resources.memoryAvailableBytes;
  if (total !== undefined || available !== undefined) {
    out.push(line('Memory:', available !== undefined && total !== undefined ? `${formatBytes(available)} available of ${formatBytes(total)}` : available !== undefined ? `${formatBytes(available)} available` : `${formatBytes(total!)} total`));
  }
  if (resources.load1 !== undefined) out.push(line('Load (1 min):', resources.load1.toFixed(2)));
  if (resources.diskFreeBytes !== undefined) {
    out.push(line('Disk Free:', `${formatBytes(resources.diskFreeBytes)}${resources.diskFreeTrend ? ` (${resources.diskFreeTrend})` : ''}`));
  }
  const df = resources.dockerDisk;
  if (df) {
    const rows = [['TYPE', 'TOTAL', 'SIZE', 'RECLAIMABLE']];
    for (const [key, title] of DOCKER_OBJECTS) {
      const usage = df[key];
      if (!usage) continue;
      const share = usage.sizeBytes > 0 ? ` (${Math.round((usage.reclaimableBytes / usage.sizeBytes) * 100)}%)` : '';
      rows.push([title, String(usage.count), formatBytes(usage.sizeBytes), `${formatBytes(usage.reclaimableBytes)}${share}`]);
    }
    out.push('  Docker Disk:', ...renderTable(rows).trimEnd().split('\n').map((l) => `    ${l}`));
  }
  return out;
}
