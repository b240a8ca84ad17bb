// A compose `build: ./app` beside the manifest, end to end: the built CLI packs the directory,
// uploads it to the built `holdfast serve`, which streams it to a real test host's engine over the
// kept SSH session and runs the image it built. An unchanged context is neither uploaded again nor
// rebuilt; a changed file rolls out a new image.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { declareTestServer, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'cbuild';
const PORT = 18486;
const REPOSITORY = `holdfast/${PROJECT}-production-site-web`;

const MANIFESTS = `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: ${PROJECT} }
spec:
  environments: [ { name: production } ]
---
apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: site, namespace: ${PROJECT} }
spec:
  environment: production
  server: edge
  source:
    compose: { file: compose.yaml }
  update: { order: stop-first }
`;

const COMPOSE = `services:
  web:
    build: ./app
    ports: [ "${PORT}:8080" ]
`;

interface DeploymentSummary {
  id: string;
  revision: number;
  phase: string;
  message?: string;
  steps: Array<{ name: string; status: string }>;
}

describe('compose build context beside the manifest, with the built CLI and holdfast serve', () => {
  let serve: ServeProcess;
  let host: TestHost;
  let dir: string;
  let env: Record<string, string>;
  let firstImage: string;
  const holdfast = (...args: string[]) => runCli(args, env, { timeoutMs: 180_000 });
  const api = async (path: string) => {
    const res = await fetch(serve.url + path, { headers: { authorization: `Bearer ${serve.token}` } });
    const text = await res.text();
    return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  };
  const docker = (...args: string[]) => execFileSync('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { encoding: 'utf8' }).trim();
  const deployments = async () => (await api(`${G}/namespaces/${PROJECT}/services/site/deployments`)).body.items as DeploymentSummary[];
  const page = () =>
    until('the page', async () => {
      const r = await fetch(`http://${host.address}:${PORT}/`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
      return r?.status === 200 ? r.text() : undefined;
    });
  const uploads = async () => (await api(`${G}/auditlog?kind=BuildContext&namespace=${PROJECT}`)).body.items as Array<{ verb: string; name: string }>;
  const writeIndex = (text: string) => writeFileSync(join(dir, 'app', 'index.html'), text);

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    serve = await startServeProcess();
    env = { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: serve.dataDir };
    await declareTestServer(serve, 'edge', host);
    dir = mkdtempSync(join(tmpdir(), 'holdfast-compose-build-e2e-'));
    writeFileSync(join(dir, 'shop.yaml'), MANIFESTS);
    writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
    mkdirSync(join(dir, 'app', 'notes'), { recursive: true });
    writeFileSync(join(dir, 'app', 'Dockerfile'), 'FROM holdfast-test/busybox:1\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n');
    writeFileSync(join(dir, 'app', '.dockerignore'), 'notes\n');
    writeFileSync(join(dir, 'app', 'notes', 'todo.txt'), 'ignored: changing it changes nothing\n');
    writeIndex('built from the directory beside the manifest, first\n');
  });

  after(async () => {
    if (env) await holdfast('delete', '-f', join(dir, 'shop.yaml')).catch(() => undefined);
    if (host) {
      const left = docker('ps', '-aq', '--filter', `label=holdfast.dev/project=${PROJECT}`);
      if (left) docker('rm', '-f', ...left.split('\n'));
      const images = docker('images', REPOSITORY, '--format', '{{.Repository}}:{{.Tag}}');
      if (images) docker('rmi', '-f', ...images.split('\n'));
    }
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('apply packs and uploads the context; the host builds it and runs the image', async () => {
    const res = await holdfast('apply', '-f', join(dir, 'shop.yaml'), '--wait', '--timeout', '150s');
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, new RegExp(`^project.holdfast.dev/${PROJECT} created$`, 'm'));
    assert.match(res.stdout, /^service.holdfast.dev\/site created$/m);
    assert.equal(await page(), 'built from the directory beside the manifest, first\n');

    const [d] = await deployments();
    assert.equal(d.phase, 'completed', d.message);
    const full = (await api(`${G}/deployments/${d.id}`)).body;
    const component = full.frozen.components[0];
    assert.match(component.build.contextDigest, /^sha256:[0-9a-f]{64}$/);
    assert.match(component.image, new RegExp(`^${REPOSITORY}:ctx-[0-9a-f]{12}$`));
    firstImage = component.image;
    const logs = String((await api(`${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, /^clone\s+reading the build context app \(sha256:[0-9a-f]{64}\) uploaded by holdfast apply$/m);
    assert.match(logs, /^build\s+.*COPY index\.html/m, 'build output goes into the deployment log');
    assert.match(logs, new RegExp(`^build\\s+built ${firstImage}$`, 'm'));
    assert.equal(d.steps.find((s) => s.name === 'build')?.status, 'succeeded');

    const running = docker('ps', '--filter', `label=holdfast.dev/project=${PROJECT}`, '--format', '{{.Image}}');
    assert.equal(running, firstImage, 'the container runs the built image');
    assert.equal((await uploads()).length, 1, 'one upload');
  });

  it('an unchanged context (and a change only .dockerignore leaves out) is not uploaded again nor rebuilt', async () => {
    writeFileSync(join(dir, 'app', 'notes', 'todo.txt'), 'still ignored\n');
    const diff = await holdfast('diff', '-f', join(dir, 'shop.yaml'));
    assert.equal(diff.code, 0, diff.stdout + diff.stderr);
    const res = await holdfast('apply', '-f', join(dir, 'shop.yaml'), '--wait', '--timeout', '60s');
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /^service.holdfast.dev\/site unchanged$/m);
    assert.equal((await deployments()).length, 1, 'no new deployment');
    assert.equal((await uploads()).length, 1, 'no new upload');
  });

  it('a changed file in the context rolls out a new image', async () => {
    writeIndex('built from the directory beside the manifest, second\n');
    const diff = await holdfast('diff', '-f', join(dir, 'shop.yaml'));
    assert.equal(diff.code, 1, diff.stdout + diff.stderr);
    assert.match(diff.stdout, /buildContexts/);
    const res = await holdfast('apply', '-f', join(dir, 'shop.yaml'), '--wait', '--timeout', '150s');
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /^service.holdfast.dev\/site configured$/m);
    const [d] = await deployments();
    assert.equal(d.revision, 2);
    assert.equal(d.phase, 'completed', d.message);
    assert.equal(d.steps.find((s) => s.name === 'build')?.status, 'succeeded');
    const image = (await api(`${G}/deployments/${d.id}`)).body.frozen.components[0].image as string;
    assert.notEqual(image, firstImage);
    assert.equal(await until('the new page', async () => ((await page()) === 'built from the directory beside the manifest, second\n' ? true : undefined)), true);
    assert.equal(docker('ps', '--filter', `label=holdfast.dev/project=${PROJECT}`, '--format', '{{.Image}}'), image);
    assert.equal((await uploads()).length, 2);
  });

  it('sync redeploys from the image already on the host without building', async () => {
    docker('rm', '-f', docker('ps', '-q', '--filter', `label=holdfast.dev/project=${PROJECT}`));
    const res = await holdfast('sync', 'service/site', '-n', PROJECT, '--wait', '--timeout', '60s');
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const [d] = await deployments();
    assert.equal(d.revision, 3);
    assert.equal(d.phase, 'completed', d.message);
    assert.equal(d.steps.find((s) => s.name === 'build')?.status, 'skipped');
    const logs = String((await api(`${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, /^build\s+web: image \S+:ctx-[0-9a-f]{12} is already on the server; not rebuilt$/m);
  });
});
