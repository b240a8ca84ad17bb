// Disk and load figures of a host, which the Docker Engine API does not give: one shell command
// (`df` of the Docker data root and /proc/loadavg), read at most every few minutes per connection.
// Parsing and judging are pure.
import { formatBytes } from '../../core/format-bytes.js';
import type { ServerStatusCheck } from '../../core/schema/types.generated.js';

export interface HostFigures {
  /** Mount point of the file system holding the Docker data root. */
  mountPoint: string;
  diskTotalBytes: number;
  diskFreeBytes: number;
  load1?: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** Below this a pull or a container's first write fails: rollouts wait instead (the check fails). */
export const DISK_FAIL_BELOW_BYTES = 512 * MiB;
/** Below either, the server needs attention (the check warns). */
export const DISK_WARN_BELOW_BYTES = 2 * GiB;
export const DISK_WARN_BELOW_FRACTION = 0.1;

/** The command, as argv: `df -Pk` of the data root (POSIX output, 1024-byte blocks), then the load. */
export function hostFiguresCommand(dockerRootDir: string): string[] {
  return ['sh', '-c', 'df -Pk -- "$1" && cat /proc/loadavg', 'sh', dockerRootDir];
}

/** Reads the command's output; undefined when it is not what `df -P` and /proc/loadavg print. */
export function parseHostFigures(stdout: string): HostFigures | undefined {
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = lines.findIndex((l) => /^Filesystem\s/.test(l));
  if (header < 0 || !lines[header + 1]) return undefined;
  // Filesystem 1024-blocks Used Available Capacity Mounted-on; the file system name may hold spaces,
  // so the numbers are read from the right.
  const fields = lines[header + 1].split(/\s+/);
  if (fields.length < 6) return undefined;
  const mountPoint = fields.at(-1)!;
  const [total, , available] = fields.slice(-5, -2).map(Number);
  if (![total, available].every((n) => Number.isFinite(n) && n >= 0)) return undefined;
  const figures: HostFigures = { mountPoint, diskTotalBytes: total * 1024, diskFreeBytes: available * 1024 };
  const load = lines[header + 2]?.split(/\s+/)[0];
  if (load !== undefined && /^\d+(\.\d+)?$/.test(load)) figures.load1 = Number(load);
  return figures;
}

/** The `disk` readiness check: fail when a pull would not fit, warn when space runs low. */
export function judgeDisk(figures: HostFigures): { result: ServerStatusCheck['result']; message: string } {
  const free = formatBytes(figures.diskFreeBytes);
  const share = figures.diskTotalBytes > 0 ? figures.diskFreeBytes / figures.diskTotalBytes : 0;
  const where = `${free} free of ${formatBytes(figures.diskTotalBytes)} (${Math.floor(share * 100)}%) on ${figures.mountPoint}, which holds the Docker data root`;
  if (figures.diskFreeBytes < DISK_FAIL_BELOW_BYTES) return { result: 'Fail', message: `disk full: ${where}; rollouts wait until there is at least ${formatBytes(DISK_FAIL_BELOW_BYTES)}` };
  if (figures.diskFreeBytes < DISK_WARN_BELOW_BYTES || share < DISK_WARN_BELOW_FRACTION) return { result: 'Warn', message: `disk space low: ${where}` };
  return { result: 'Pass', message: where };
}
