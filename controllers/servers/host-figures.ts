// Disk, memory and load figures of a host, which the Docker Engine API does not give: one shell
// command (`df` of the Docker data root, /proc/loadavg and /proc/meminfo), read once per readiness
// interval per connection; and what Docker's own objects take (/system/df). Parsing, summing and
// judging are pure.
import { formatBytes } from '../../core/format-bytes.js';
import type { Condition } from '../../core/resource.js';
import type { ServerStatusCheck } from '../../core/schema/types.generated.js';
import type { DockerSystemDf } from '../../hosts/index.js';

export interface HostFigures {
  /** Mount point of the file system holding the Docker data root. */
  mountPoint: string;
  diskTotalBytes: number;
  diskFreeBytes: number;
  load1?: number;
  memoryAvailableBytes?: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** Below this a pull or a container's first write fails: rollouts wait instead (the check fails). */
export const DISK_FAIL_BELOW_BYTES = 512 * MiB;
/** Below either, the server needs attention (the check warns). */
export const DISK_WARN_BELOW_BYTES = 2 * GiB;
export const DISK_WARN_BELOW_FRACTION = 0.1;

/** The command, as argv: `df -Pk` of the data root (POSIX output, 1024-byte blocks), the load, the available memory. */
export function hostFiguresCommand(dockerRootDir: string): string[] {
  return ['sh', '-c', 'df -Pk -- "$1" && cat /proc/loadavg && grep "^MemAvailable:" /proc/meminfo', 'sh', dockerRootDir];
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
  const memory = lines.map((l) => /^MemAvailable:\s+(\d+) kB$/.exec(l)).find(Boolean);
  if (memory) figures.memoryAvailableBytes = Number(memory[1]) * 1024;
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

/** Memory is short when less than this share of it, or less than this many bytes, is available. */
export const MEMORY_PRESSURE_BELOW_FRACTION = 0.1;
export const MEMORY_PRESSURE_BELOW_BYTES = 256 * MiB;

/** The MemoryPressure condition from the available memory and the total. */
export function judgeMemory(availableBytes: number, totalBytes: number): { pressure: boolean; reason: 'MemoryLow' | 'MemoryOk'; message: string } {
  const share = totalBytes > 0 ? availableBytes / totalBytes : 0;
  const where = `${formatBytes(availableBytes)} of ${formatBytes(totalBytes)} memory available (${Math.floor(share * 100)}%)`;
  if (availableBytes < MEMORY_PRESSURE_BELOW_BYTES || share < MEMORY_PRESSURE_BELOW_FRACTION) return { pressure: true, reason: 'MemoryLow', message: `memory low: ${where}` };
  return { pressure: false, reason: 'MemoryOk', message: where };
}

export const PRESSURE_CONDITIONS = ['DiskPressure', 'MemoryPressure'] as const;

export interface PressureEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * Events for changes of pressure between two sets of conditions: pressure that begins or worsens
 * (its reason changes while it holds) is a Warning with the condition's reason; pressure that ends is
 * a Normal `…Relieved`. A first observation without pressure, and unknown readings, say nothing.
 */
export function pressureEvents(before: ReadonlyArray<Pick<Condition, 'type' | 'status' | 'reason'>>, after: ReadonlyArray<Pick<Condition, 'type' | 'status' | 'reason' | 'message'>>): PressureEvent[] {
  const events: PressureEvent[] = [];
  for (const type of PRESSURE_CONDITIONS) {
    const now = after.find((c) => c.type === type);
    if (!now || now.status === 'Unknown') continue;
    const was = before.find((c) => c.type === type && c.status !== 'Unknown');
    if (now.status === 'True' && (was?.status !== 'True' || was.reason !== now.reason)) events.push({ type: 'Warning', reason: now.reason, message: now.message });
    else if (now.status === 'False' && was?.status === 'True') events.push({ type: 'Normal', reason: `${type}Relieved`, message: now.message });
  }
  return events;
}

export interface DockerObjectsUsage {
  count: number;
  sizeBytes: number;
  /** What removing the unused ones would free. */
  reclaimableBytes: number;
}

export interface DockerDiskUsage {
  images: DockerObjectsUsage;
  containers: DockerObjectsUsage;
  volumes: DockerObjectsUsage;
  buildCache: DockerObjectsUsage;
}

/** `docker system df`'s table from /system/df: images in use by no container, stopped containers, unreferenced volumes, idle build cache are reclaimable. */
export function summariseDockerDisk(df: DockerSystemDf): DockerDiskUsage {
  const images = df.Images ?? [];
  const unique = (size: number, shared: number) => Math.max(0, size - Math.max(0, shared));
  const imagesInUse = images.filter((i) => i.Containers > 0).reduce((sum, i) => sum + unique(i.Size, i.SharedSize), 0);
  const sharedMax = images.reduce((max, i) => Math.max(max, i.SharedSize), 0);
  const imagesSize = df.LayersSize ?? images.reduce((sum, i) => sum + unique(i.Size, i.SharedSize), 0);
  const containers = df.Containers ?? [];
  const volumes = df.Volumes ?? [];
  const cache = df.BuildCache ?? [];
  const volumeSize = (v: (typeof volumes)[number]) => Math.max(0, v.UsageData?.Size ?? 0);
  return {
    images: { count: images.length, sizeBytes: imagesSize, reclaimableBytes: Math.max(0, imagesSize - imagesInUse - (imagesInUse > 0 ? sharedMax : 0)) },
    containers: {
      count: containers.length,
      sizeBytes: containers.reduce((sum, c) => sum + (c.SizeRw ?? 0), 0),
      reclaimableBytes: containers.filter((c) => c.State !== 'running').reduce((sum, c) => sum + (c.SizeRw ?? 0), 0),
    },
    volumes: {
      count: volumes.length,
      sizeBytes: volumes.reduce((sum, v) => sum + volumeSize(v), 0),
      reclaimableBytes: volumes.filter((v) => (v.UsageData?.RefCount ?? 1) === 0).reduce((sum, v) => sum + volumeSize(v), 0),
    },
    buildCache: {
      count: cache.length,
      sizeBytes: cache.filter((b) => !b.Shared).reduce((sum, b) => sum + b.Size, 0),
      reclaimableBytes: cache.filter((b) => !b.InUse && !b.Shared).reduce((sum, b) => sum + b.Size, 0),
    },
  };
}

export interface DiskSample {
  time: string;
  freeBytes: number;
}

/** Samples of free disk kept in status: one every 5 minutes, the last 24 (two hours). */
export const DISK_SAMPLE_EVERY_MS = 5 * 60_000;
export const DISK_SAMPLES_KEPT = 24;

/** The history with `sample` added when the last one is old enough (readiness runs more often than the trend needs). */
export function addDiskSample(history: readonly DiskSample[], sample: DiskSample): DiskSample[] {
  const last = history.at(-1);
  if (last && Date.parse(sample.time) - Date.parse(last.time) < DISK_SAMPLE_EVERY_MS) return [...history];
  return [...history, sample].slice(-DISK_SAMPLES_KEPT);
}

/** `-1.2 GiB in 2h` or `+300.0 MiB in 45m`: the change of free disk over the kept samples. */
export function describeDiskTrend(history: readonly DiskSample[]): string | undefined {
  if (history.length < 2) return undefined;
  const first = history[0]!;
  const last = history.at(-1)!;
  const change = last.freeBytes - first.freeBytes;
  const minutes = Math.round((Date.parse(last.time) - Date.parse(first.time)) / 60_000);
  const span = minutes >= 60 ? `${Math.floor(minutes / 60)}h${minutes % 60 ? `${minutes % 60}m` : ''}` : `${minutes}m`;
  return `${change < 0 ? '-' : '+'}${formatBytes(Math.abs(change))} in ${span}`;
}
