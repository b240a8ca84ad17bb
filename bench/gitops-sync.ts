// GitOps on a real test host (host 2) through an in-process control plane:
//   node --import tsx bench/gitops-sync.ts [sizes=10,50] [idleSeconds=30]
// 1. Push to Ready: a commit adding N Services is pushed to a bare repository the GitRepository
//    follows, and a sync is requested at once (the annotation `holdfast reconcile` sets, as a webhook
//    does); the clock runs from the push until every Service is Ready for its generation. Then a
//    commit changing all N (a new env value: a rollout each) is timed the same way, and a commit
//    removing them is pruned before the next size.
// 2. The cost of an idle poll: the control plane's CPU over a window in which the repository is
//    polled every 2 s with nothing new, less its CPU over a window without polls, per poll.
// The last line is the figures as JSON.
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { createFleet } from '../test/support/fleet.js';
import { createGitRemote } from '../test/support/git-remote.js';
import { loadTestHosts, testHost } from '../test/support/testhosts.js';
import { RECONCILE_REQUESTED_AT } from '../core/gitops/sync-status.js';

const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'gitopsbench';
const SIZES = (process.argv[2] ?? '10,50').split(',').map(Number);
const IDLE_SECONDS = Number(process.argv[3] ?? 30);
const POLL_INTERVAL = '2s';
const READY_TIMEOUT_MS = Number(process.env.BENCH_READY_TIMEOUT_MS ?? 10 * 60_000);

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    // A kept-alive connection the server closed just then fails one look; the next one reconnects.
    const v = await fn().catch((err: unknown) => {
      if (err instanceof TypeError && err.message === 'fetch failed') return undefined;
      throw err;
    });
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function serviceManifest(name: string, release: string): string {
  return [
    'apiVersion: holdfast.dev/v1alpha1',
    'kind: Service',
    `metadata: { name: ${name}, namespace: ${NS} }`,
    'spec:',
    '  environment: production',
    '  server: edge',
    '  source: { image: "holdfast-test/busybox:1" }',
    '  command: [sh, -c, "exec sleep 100000"]',
    `  env: [ { name: RELEASE, value: "${release}" } ]`,
    '  update: { order: stop-first, healthDeadlineSeconds: 60 }',
    '',
  ].join('\n');
}

interface ServiceItem {
  metadata: { name: string; generation?: number };
  status?: { observedGeneration?: number; conditions?: Array<{ type: string; status: string; observedGeneration?: number }> };
}

async function main() {
  const host = testHost(await loadTestHosts({ count: 2 }), 2);
  const cp: TestControlPlane = await startTestControlPlane('pglite');
  const remote = createGitRemote('bench');
  const repoPath = `${G}/namespaces/${NS}/gitrepositories/platform`;
  try {
    const create = async (path: string, body: unknown) => {
      const res = await cp.call('POST', path, body);
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    };
    await createFleet(cp, host, { project: NS, server: 'edge' });
    remote.push({ 'apps/README': 'Services of the GitOps benchmark\n' }, 'an empty start');
    await create(`${G}/namespaces/${NS}/gitrepositories`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'GitRepository',
      metadata: { name: 'platform', namespace: NS },
      spec: { url: remote.bare, ref: { branch: 'main' }, path: './apps', interval: '1h', prune: true, allowEmpty: true },
    });

    const requestSync = async () => {
      for (let attempt = 1; ; attempt++) {
        // A kept-alive connection the server closed just then fails the fetch (ECONNRESET): ask again.
        const res = await cp.call('PATCH', repoPath, { metadata: { annotations: { [RECONCILE_REQUESTED_AT]: new Date().toISOString() } } }, { 'content-type': 'application/merge-patch+json' }).catch((err: unknown) => {
          if (attempt >= 3) throw err;
          return undefined;
        });
        if (!res) continue;
        if (res.status !== 200) throw new Error(`requesting a sync: ${res.status} ${JSON.stringify(res.body)}`);
        return;
      }
    };
    const services = async () => ((await cp.call('GET', `${G}/namespaces/${NS}/services`)).body as { items: ServiceItem[] }).items;
    const readyForGeneration = (s: ServiceItem) => {
      const ready = s.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && s.status?.observedGeneration === s.metadata.generation;
    };
    /** Pushes, requests a sync, and times until `done` holds for the listed Services. */
    const timePush = async (files: Record<string, string | null>, message: string, done: (items: ServiceItem[]) => boolean) => {
      const started = performance.now();
      remote.push(files, message);
      await requestSync();
      await until(message, async () => (done(await services()) ? true : undefined), READY_TIMEOUT_MS, 200).catch(async (err) => {
        const repo = (await cp.call('GET', repoPath)).body as { status?: unknown };
        throw new Error(`${(err as Error).message}; the GitRepository's status: ${JSON.stringify(repo.status)}`);
      });
      return performance.now() - started;
    };

    const results: Array<{ services: number; createMs: number; changeMs: number; pruneMs: number }> = [];
    for (const size of SIZES) {
      const names = Array.from({ length: size }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
      const all = (release: string) => Object.fromEntries(names.map((n) => [`apps/${n}.yaml`, serviceManifest(n, release)]));
      const allReady = (items: ServiceItem[]) => names.every((n) => items.some((s) => s.metadata.name === n && readyForGeneration(s)));
      const createMs = await timePush(all('1'), `${size} Services`, allReady);
      const changeMs = await timePush(all('2'), `${size} Services changed`, (items) => allReady(items) && items.every((s) => (s.metadata.generation ?? 0) >= 2));
      const pruneMs = await timePush(Object.fromEntries(names.map((n) => [`apps/${n}.yaml`, null])), `${size} Services removed`, (items) => items.length === 0);
      results.push({ services: size, createMs, changeMs, pruneMs });
      console.log(`${String(size).padStart(3)} Services: push → all Ready ${(createMs / 1000).toFixed(1)} s; a change to all → all Ready again ${(changeMs / 1000).toFixed(1)} s; removal → pruned ${(pruneMs / 1000).toFixed(1)} s`);
    }

    // Idle polls: nothing new in the repository. The control plane's CPU over a window with a poll
    // every 2 s, less its CPU over as long a window without polls, over the polls made.
    const cpuOver = async (seconds: number) => {
      const before = process.cpuUsage();
      const started = performance.now();
      await sleep(seconds * 1000);
      const used = process.cpuUsage(before);
      return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started };
    };
    await sleep(5_000);
    const quiet = await cpuOver(IDLE_SECONDS);
    const patched = await cp.call('PATCH', repoPath, { spec: { interval: POLL_INTERVAL } }, { 'content-type': 'application/merge-patch+json' });
    if (patched.status !== 200) throw new Error(`setting the poll interval: ${patched.status}`);
    await sleep(5_000);
    const polling = await cpuOver(IDLE_SECONDS);
    const polls = Math.round(polling.wallMs / 2000);
    const perPollMs = Math.max(0, polling.cpuMs - quiet.cpuMs) / polls;
    const percent = (w: { cpuMs: number; wallMs: number }) => ((w.cpuMs / w.wallMs) * 100).toFixed(2);
    console.log(
      `Idle control plane over ${IDLE_SECONDS} s: ${percent(quiet)} % of a core without polls, ${percent(polling)} % polling every ${POLL_INTERVAL} ` +
        `(${polls} polls, nothing new): ${perPollMs.toFixed(1)} ms of CPU per idle poll (git ls-remote and the comparison)`,
    );
    console.log(
      JSON.stringify({
        pushToReady: results.map((r) => ({ services: r.services, createMs: Math.round(r.createMs), changeMs: Math.round(r.changeMs), pruneMs: Math.round(r.pruneMs) })),
        idlePoll: { cpuMsPerPoll: Number(perPollMs.toFixed(1)), quietCpuPercent: Number(percent(quiet)), pollingCpuPercent: Number(percent(polling)) },
      }),
    );
  } finally {
    await cp.stop();
    remote.remove();
  }
}

await main();
