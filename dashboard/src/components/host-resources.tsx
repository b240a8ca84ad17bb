// What a server has and what Docker takes on it, from the Server's status: memory, load, free disk
// with its two-hour trend, and Docker's images, containers, volumes and build cache as `docker system df`.
import type { ServerStatusResources } from '../../../core/schema/types.generated.js';
import { formatBytes } from '../model/time.js';
import { Fact } from './facts.js';
import { Empty } from './states.js';

const DOCKER_OBJECTS = [
  ['images', 'Images'],
  ['containers', 'Containers'],
  ['volumes', 'Volumes'],
  ['buildCache', 'Build cache'],
] as const;

export function HostResources({ resources }: { resources: ServerStatusResources | undefined }) {
  if (!resources) return <Empty title="Not measured yet">Memory, load and disk figures appear after the first contact.</Empty>;
  const { memoryBytes: total, memoryAvailableBytes: available } = resources;
  return (
    <>
      <dl className="facts">
        <Fact label="CPUs">{resources.cpus ?? '—'}</Fact>
        <Fact label="Memory available">
          <span data-resource="memory">{available !== undefined ? `${formatBytes(available)} of ${formatBytes(total)}` : `${formatBytes(total)} total`}</span>
        </Fact>
        <Fact label="Load (1 min)">
          <span data-resource="load">{resources.load1?.toFixed(2) ?? '—'}</span>
        </Fact>
        <Fact label="Disk free">
          <span data-resource="disk-free">{formatBytes(resources.diskFreeBytes)}</span>
        </Fact>
        <Fact label="Free disk, last 2 h">
          <span data-resource="disk-trend">{resources.diskFreeTrend ?? 'one sample so far'}</span>
          <DiskSparkline samples={resources.diskFreeHistory ?? []} />
        </Fact>
      </dl>
      {resources.dockerDisk && (
        <div className="table-wrap">
          <table className="table table--compact table--cards" aria-label="Docker disk use">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Count</th>
                <th scope="col">Size</th>
                <th scope="col">Reclaimable</th>
              </tr>
            </thead>
            <tbody>
              {DOCKER_OBJECTS.map(([key, title]) => {
                const usage = resources.dockerDisk?.[key];
                if (!usage) return null;
                return (
                  <tr key={key} data-docker-disk={key}>
                    <th scope="row" data-label="Type">
                      {title}
                    </th>
                    <td data-label="Count" data-field="count">
                      {usage.count}
                    </td>
                    <td data-label="Size" data-field="size">
                      {formatBytes(usage.sizeBytes)}
                    </td>
                    <td data-label="Reclaimable" data-field="reclaimable">
                      {formatBytes(usage.reclaimableBytes)}
                      {usage.sizeBytes > 0 && <span className="muted"> ({Math.round((usage.reclaimableBytes / usage.sizeBytes) * 100)}%)</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 24;

/** Free disk over the kept samples as a line; hidden from screen readers, which read the trend text. */
function DiskSparkline({ samples }: { samples: ReadonlyArray<{ time: string; freeBytes: number }> }) {
  if (samples.length < 2) return null;
  const times = samples.map((s) => Date.parse(s.time));
  const values = samples.map((s) => s.freeBytes);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const [v0, v1] = [Math.min(...values), Math.max(...values)];
  const x = (t: number) => (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * SPARK_WIDTH);
  const y = (v: number) => (v1 === v0 ? SPARK_HEIGHT / 2 : SPARK_HEIGHT - ((v - v0) / (v1 - v0)) * SPARK_HEIGHT);
  const points = samples.map((s, i) => `${x(times[i]!).toFixed(1)},${y(s.freeBytes).toFixed(1)}`).join(' ');
  return (
    <svg className="sparkline" width={SPARK_WIDTH} height={SPARK_HEIGHT} viewBox={`0 -2 ${SPARK_WIDTH} ${SPARK_HEIGHT + 4}`} aria-hidden="true">
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}
