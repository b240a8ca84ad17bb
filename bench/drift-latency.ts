// Drift detection latency and time to heal, on a real test host (host 2) through an in-process
// control plane:
//   node --import tsx bench/drift-latency.ts [changes=50]
// Each change is made with one Docker Engine API call on the host's own socket (so the clock starts
// when the host changes, not when a CLI process starts): the restart policy changed, the container
// killed, or stopped. Latency is from that call to the entry showing in GET …/services/{name}/views
// (what the CLI and the dashboard read), and to the Service's status (status.drift.count, written by
// the drift controller with the drift record). Then a heal-mode Service's container is killed, and
// the time until it runs again (and until the API shows no drift) is measured. The last line is the
// figures as JSON (bench/run.ts reads it).
import { request } from 'node:http';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { createFleet } from '../test/support/fleet.js';
import { loadTestHosts, testHost, type TestHost } from '../test/support/testhosts.js';

const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'driftbench';
const CHANGES = Number(process.argv[2] ?? 50);
const HEALS = 3;
const POLL_MS = 2;
const TIMEOUT_MS = 30_000;

function dockerApi(host: TestHost, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: host.dockerSocket, method, path, headers: { 'content-type': 'application/json' }, timeout: 30_000 }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Docker's own event stream on the host's socket (not over SSH): when the daemon reports each
 * container event, as the floor under any event-driven latency.
 */
function followDockerEvents(host: TestHost, onEvent: (event: { Action: string; Actor?: { Attributes?: Record<string, string> } }) => void): () => void {
  const req = request({ socketPath: host.dockerSocket, method: 'GET', path: '/events?filters=' + encodeURIComponent(JSON.stringify({ type: ['container'] })) }, (res) => {
    let buffer = '';
    res.on('data', (chunk) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) onEvent(JSON.parse(line));
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return () => req.destroy();
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = TIMEOUT_MS, everyMs = POLL_MS): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
const summary = (values: number[]) => `median ${ms(percentile(values, 50))}, p99 ${ms(percentile(values, 99))}, max ${ms(Math.max(...values))} (n=${values.length})`;

async function main() {
  const hosts = await loadTestHosts({ count: 2 });
  const host = testHost(hosts, 2);
  const cp: TestControlPlane = await startTestControlPlane('pglite');
  const container = (service: string) => `hf_${NS}_production_${service}_1`;
  const svcPath = (name: string) => `${G}/namespaces/${NS}/services/${name}`;
  try {
    const create = async (path: string, body: unknown) => {
      const res = await cp.call('POST', path, body);
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    };
    await createFleet(cp, host, { project: NS, server: 'edge' });
    const spec = (mode: 'report' | 'heal') => ({
      environment: 'production',
      server: 'edge',
      source: { image: 'holdfast-test/busybox:1' },
      command: ['sh', '-c', 'exec sleep 100000'],
      restartPolicy: 'no',
      update: { order: 'stop-first', healthDeadlineSeconds: 15, autoRollback: true },
      driftPolicy: { mode },
    });
    await create(`${G}/namespaces/${NS}/services`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name: 'watched', namespace: NS }, spec: spec('report') });
    await create(`${G}/namespaces/${NS}/services`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name: 'healed', namespace: NS }, spec: spec('heal') });
    for (const name of ['watched', 'healed']) {
      await until(`${name} to be deployed and judged in sync`, async () => {
        const s = (await cp.call('GET', svcPath(name))).body as { status?: { conditions?: Array<{ type: string; reason: string }> } };
        return s.status?.conditions?.find((c) => c.type === 'Drifted')?.reason === 'InSync' ? true : undefined;
      }, 120_000, 200);
    }

    const viewsCount = async () => ((await cp.call('GET', `${svcPath('watched')}/views`)).body as { drift: unknown[] }).drift.length;
    const statusCount = async () => ((await cp.call('GET', svcPath('watched'))).body as { status?: { drift?: { count?: number } } }).status?.drift?.count ?? 0;
    /** Polls both until each shows `want` drifted (want > 0) or none (want 0); the times since `t0`. */
    async function observe(t0: number, drifted: boolean): Promise<{ views: number; status: number }> {
      let views: number | undefined;
      let status: number | undefined;
      const deadline = t0 + TIMEOUT_MS;
      while ((views === undefined || status === undefined) && performance.now() < deadline) {
        if (views === undefined && ((await viewsCount()) > 0) === drifted) views = performance.now() - t0;
        if (status === undefined && ((await statusCount()) > 0) === drifted) status = performance.now() - t0;
        await sleep(POLL_MS);
      }
      if (views === undefined || status === undefined) throw new Error(`drift ${drifted ? 'did not show' : 'did not clear'} within ${TIMEOUT_MS} ms`);
      return { views, status };
    }

    const id = encodeURIComponent(container('watched'));
    const changes: Array<{ what: string; make: () => Promise<unknown>; undo: () => Promise<unknown> }> = [
      {
        what: 'restart policy changed',
        make: () => dockerApi(host, 'POST', `/containers/${id}/update`, { RestartPolicy: { Name: 'always' } }),
        undo: () => dockerApi(host, 'POST', `/containers/${id}/update`, { RestartPolicy: { Name: 'no' } }),
      },
      { what: 'killed', make: () => dockerApi(host, 'POST', `/containers/${id}/kill`), undo: () => dockerApi(host, 'POST', `/containers/${id}/start`) },
      { what: 'stopped', make: () => dockerApi(host, 'POST', `/containers/${id}/stop?t=0`), undo: () => dockerApi(host, 'POST', `/containers/${id}/start`) },
    ];
    let lastEventAt = 0;
    const stopEvents = followDockerEvents(host, (event) => {
      if (event.Actor?.Attributes?.name === container('watched') && !event.Action.startsWith('exec_')) lastEventAt = performance.now();
    });
    const daemon: number[] = [];
    const byKind = new Map<string, number[]>();
    const shown = { views: [] as number[], status: [] as number[] };
    const cleared = { views: [] as number[], status: [] as number[] };
    for (let i = 0; i < CHANGES; i++) {
      const change = changes[i % changes.length];
      lastEventAt = 0;
      let t0 = performance.now();
      await change.make();
      const seen = await observe(t0, true);
      shown.views.push(seen.views);
      shown.status.push(seen.status);
      if (lastEventAt) daemon.push(lastEventAt - t0);
      byKind.set(change.what, [...(byKind.get(change.what) ?? []), seen.status]);
      t0 = performance.now();
      await change.undo();
      const gone = await observe(t0, false);
      cleared.views.push(gone.views);
      cleared.status.push(gone.status);
    }

    stopEvents();

    const healTimes: Array<{ running: number; resolved: number }> = [];
    const healedId = encodeURIComponent(container('healed'));
    for (let i = 0; i < HEALS; i++) {
      const t0 = performance.now();
      const killed = await dockerApi(host, 'POST', `/containers/${healedId}/kill`);
      if (killed.status !== 204) throw new Error(`kill ${container('healed')}: ${killed.status} ${killed.text}`);
      await until('the killed container to stop', async () => (JSON.parse((await dockerApi(host, 'GET', `/containers/${healedId}/json`)).text).State.Running ? undefined : true));
      const running = await until('the healed container to run', async () => (JSON.parse((await dockerApi(host, 'GET', `/containers/${healedId}/json`)).text).State.Running ? performance.now() - t0 : undefined));
      const resolved = await until('no drift in the API', async () => {
        const body = (await cp.call('GET', `${svcPath('healed')}/views`)).body as { drift: unknown[] };
        return body.drift.length === 0 ? performance.now() - t0 : undefined;
      });
      healTimes.push({ running, resolved });
      // Let the heal deployment finish settling before the next round.
      await sleep(1500);
    }

    console.log(`Drift detection latency, change on the host → drift visible in the API (${CHANGES} changes: restart policy, kill, stop in turn)`);
    console.log(`  GET …/services/{name}/views (drift entry)   ${summary(shown.views)}`);
    console.log(`  Service status.drift (record written)       ${summary(shown.status)}`);
    for (const [what, values] of byKind) console.log(`    ${what.padEnd(42)}${summary(values)}`);
    console.log(`  of which Docker takes to report the change on its own socket (/events, no SSH): ${summary(daemon)}`);
    console.log(`Change undone on the host → drift gone from the API`);
    console.log(`  GET …/services/{name}/views                 ${summary(cleared.views)}`);
    console.log(`  Service status.drift                        ${summary(cleared.status)}`);
    console.log(`Time to heal a killed container (driftPolicy.mode: heal, ${HEALS} runs)`);
    console.log(`  running again                               ${healTimes.map((h) => ms(h.running)).join(', ')} (median ${ms(percentile(healTimes.map((h) => h.running), 50))})`);
    console.log(`  no drift left in the API                    ${healTimes.map((h) => ms(h.resolved)).join(', ')} (median ${ms(percentile(healTimes.map((h) => h.resolved), 50))})`);
    // One line of JSON for bench/run.ts: the headline figure (the views API) first.
    const figures = (values: number[]) => ({ medianMs: Math.round(percentile(values, 50)), p99Ms: Math.round(percentile(values, 99)), samples: values.length });
    console.log(
      JSON.stringify({
        driftDetection: figures(shown.views),
        driftRecorded: figures(shown.status),
        driftCleared: figures(cleared.views),
        dockerEvent: figures(daemon),
        heal: { runningAgainMs: healTimes.map((h) => Math.round(h.running)), resolvedInApiMs: healTimes.map((h) => Math.round(h.resolved)) },
      }),
    );
  } finally {
    await cp.stop();
    for (const name of [container('watched'), container('healed')]) await dockerApi(host, 'DELETE', `/containers/${encodeURIComponent(name)}?force=true`).catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
