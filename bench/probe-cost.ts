// What continuous readiness costs: the control plane's own ReadinessProber probing N httpd replicas
// on one test host over the kept SSH session (http GET through a direct-tcpip channel, at most
// PROBES_PER_HOST at a time), once at a 1 s interval (the steady cost) and once back to back (how
// many probes a second one host can take). CPU is this process's, the control plane's side.
//
//   node --import tsx bench/probe-cost.ts [--host 1] [--replicas 20] [--seconds 15]
//
// Runs against the test hosts (started if needed); removes the containers it made; prints one table.
import { parseArgs } from 'node:util';
import { connectedHost } from '../hosts/host-access.js';
import { containerAddress } from '../controllers/services/readiness-probe.js';
import { PROBES_PER_HOST, ReadinessProber, type ProbeTarget } from '../controllers/services/readiness-prober.js';
import type { ReadinessProbe } from '../core/deploy/container-spec.js';
import { HostConnections } from '../hosts/index.js';
import { hostDocker, loadTestHosts, readPrivateKey, testHost } from '../test/support/testhosts.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '15' },
  },
});
const replicas = Number(values.replicas);
const seconds = Number(values.seconds);
const NAME = 'hf-bench-probe';

interface Row {
  phase: string;
  probes: number;
  failed: number;
  perSecond: number;
  cpuMsPerProbe: number;
  cpuPercent: number;
}

/** Probes every target for `seconds` and counts from the prober's records what it did. */
async function measure(phase: string, host: ReturnType<typeof connectedHost>, targets: ProbeTarget[]): Promise<Row> {
  const prober = new ReadinessProber({ enqueue: () => undefined });
  const cpu = process.cpuUsage();
  const started = performance.now();
  prober.track('bench/probe', host, targets);
  await new Promise((ok) => setTimeout(ok, seconds * 1000));
  const records = prober.recordsFor(targets.map((t) => t.container));
  prober.stop();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  // A passing replica's consecutiveSuccesses counts every probe since it started; any failure resets it.
  let probes = 0;
  // A replica never probed counts as failing too.
  let failed = targets.length - records.size;
  for (const r of records.values()) {
    probes += r.consecutiveSuccesses + r.consecutiveFailures;
    if (r.consecutiveFailures > 0) failed++;
  }
  return { phase, probes, failed, perSecond: probes / (wallMs / 1000), cpuMsPerProbe: probes ? cpuMs / probes : 0, cpuPercent: (cpuMs / wallMs) * 100 };
}

function printTable(rows: Row[]): void {
  const header = ['phase', 'replicas', 'probes', 'replicas failing', 'probes/s', 'CPU ms/probe', 'CPU %'];
  const lines = rows.map((r) => [r.phase, String(replicas), String(r.probes), String(r.failed), r.perSecond.toFixed(1), r.cpuMsPerProbe.toFixed(2), r.cpuPercent.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i >= 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(format(line));
}

const hostIndex = Number(values.host);
const host = testHost(await loadTestHosts({ count: hostIndex }), hostIndex);
const names = Array.from({ length: replicas }, (_, i) => `${NAME}-${i + 1}`);
const connections = new HostConnections();
try {
  for (const name of names) {
    await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
    await hostDocker(host, 'run', '-d', '--name', name, 'holdfast-test/busybox:1', 'httpd', '-f', '-p', '8080', '-h', '/www');
  }
  const connection = connections.get({ name: host.name, kind: 'docker-engine', host: host.address, port: host.port, user: host.user, privateKey: readPrivateKey(host), hostKeyFingerprint: host.hostKeyFingerprint });
  const access = connectedHost(connection);
  const targetsAt = async (intervalSeconds: number): Promise<ProbeTarget[]> => {
    const probe: ReadinessProbe = { http: { path: '/', port: 8080 }, intervalSeconds, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 0 } as ReadinessProbe;
    return Promise.all(
      names.map(async (name) => {
        const inspect = await connection.docker.inspectContainer(name);
        return { container: name, startedAt: inspect.State?.StartedAt, address: containerAddress(inspect), probe };
      }),
    );
  };
  const rows = [await measure('interval 1 s', access, await targetsAt(1)), await measure(`back to back (${PROBES_PER_HOST} at a time)`, access, await targetsAt(0))];
  printTable(rows);
} finally {
  await connections.closeAll();
  for (const name of names) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
}
