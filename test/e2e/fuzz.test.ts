// Seeded fuzzing of `holdfast serve` and of the CLI's manifest loading with malformed and hostile
// input: no HTTP 500, no crash, memory bounded. The seed is printed; HOLDFAST_FUZZ_SEED=N replays
// a run, HOLDFAST_FUZZ_REQUESTS=N changes its length.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ManifestError, parseManifests } from '../../manifests/load.js';
import { runCli } from '../support/cli-process.js';
import { FuzzInput, seededRandom, type FuzzRequest } from '../support/fuzz-input.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const SEED = Number(process.env.HOLDFAST_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REQUESTS = Number(process.env.HOLDFAST_FUZZ_REQUESTS ?? 2000);
const CONCURRENCY = 8;
const G = '/apis/holdfast.dev/v1alpha1';

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const describeRequest = (r: FuzzRequest) => `${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers)} ${String(r.body ?? '').slice(0, 300)}`;

describe(`fuzzing (seed ${SEED}; replay with HOLDFAST_FUZZ_SEED=${SEED})`, () => {
  let serve: ServeProcess;
  before(async () => {
    console.log(`fuzz seed ${SEED}: replay with HOLDFAST_FUZZ_SEED=${SEED}`);
    serve = await startServeProcess();
    const project = await fetch(serve.url + `${G}/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } }),
    });
    assert.equal(project.status, 201);
  });
  after(async () => serve?.stop());

  it(`answers ${REQUESTS} hostile requests without a 500 or a crash, in bounded memory`, async () => {
    const input = new FuzzInput(seededRandom(SEED));
    const requests = Array.from({ length: REQUESTS }, () => input.request());
    const rssBefore = rssMiB(serve.child.pid!);
    let peak = rssBefore;
    const failures: string[] = [];
    const codes = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++];
        try {
          const res = await fetch(serve.url + r.path, {
            method: r.method,
            headers: { authorization: `Bearer ${serve.token}`, ...r.headers },
            body: r.body,
            signal: AbortSignal.timeout(15_000),
          });
          const text = await res.text();
          codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
          if (res.status >= 500 && res.status !== 503 && res.status !== 504) failures.push(`${res.status} ${text.slice(0, 200)} ← ${describeRequest(r)}`);
        } catch (err) {
          failures.push(`${(err as Error).message} ← ${describeRequest(r)}`);
        }
        if (next % 100 === 0) peak = Math.max(peak, rssMiB(serve.child.pid!));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`fuzz seed ${SEED}: status codes ${JSON.stringify(Object.fromEntries([...codes].sort(([a], [b]) => a - b)))}; RSS ${rssBefore.toFixed(0)} → peak ${peak.toFixed(0)} MiB`);
    assert.deepEqual(failures.slice(0, 5), [], `seed ${SEED}: ${failures.length} failures`);
    assert.equal(serve.child.exitCode, null, `seed ${SEED}: the server exited\n${serve.output().slice(-2000)}`);
    assert.equal((await fetch(serve.url + '/healthz')).status, 200);
    assert.ok(peak - rssBefore < 400, `seed ${SEED}: RSS grew from ${rssBefore} to ${peak} MiB`);
  });

  it('loads hostile manifest files in the CLI with a ManifestError or objects, nothing else', () => {
    const input = new FuzzInput(seededRandom(SEED + 1));
    for (let i = 0; i < 300; i++) {
      const text = input.manifestYaml();
      try {
        parseManifests([{ name: 'fuzz.yaml', text }]);
      } catch (err) {
        assert.ok(err instanceof ManifestError, `seed ${SEED}, file ${i}: ${(err as Error).stack}\n${text.slice(0, 500)}`);
      }
    }
  });

  it('runs holdfast apply on hostile manifests: exit 1 with a message, never a stack trace', async () => {
    const input = new FuzzInput(seededRandom(SEED + 2));
    for (let i = 0; i < 5; i++) {
      const text = input.manifestYaml();
      const run = await runCli(['apply', '--dry-run=server', '-f', '-'], { HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token }, { input: text, timeoutMs: 30_000 });
      assert.ok(run.code === 0 || run.code === 1, `seed ${SEED}, file ${i}: exit ${run.code}\n${run.stderr}`);
      assert.doesNotMatch(run.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `seed ${SEED}, file ${i}: a stack trace\n${run.stderr}`);
    }
  });
});
