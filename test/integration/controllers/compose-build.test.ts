// A compose build from an uploaded context on a real test host, where it goes wrong: a digest the
// control plane does not hold ends the deployment BuildContextUnavailable, a Dockerfile that fails
// ends it BuildFailed with the build's output in the log, and a context without any digest says to
// apply it with holdfast apply. Nothing runs and nothing is left on the host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { contextDigest } from '../../../core/deploy/build-context.js';
import { buildContextTar } from '../../../core/deploy/context-tar.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'cbfail';

describe('compose builds from uploaded contexts that cannot be built', () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const docker = (...args: string[]) => execFileSync('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { encoding: 'utf8' }).trim();
  const service = (name: string, buildContexts?: Record<string, string>) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace: PROJECT },
    spec: {
      environment: 'production',
      server: 'edge',
      source: { compose: { inline: { services: { app: { build: './app' } } }, ...(buildContexts ? { buildContexts } : {}) } },
      update: { autoRollback: false },
    },
  });
  const outcome = async (name: string) => {
    const path = `${G}/namespaces/${PROJECT}/services/${name}`;
    const d = await until(`the deployment of ${name}`, async () => {
      const items = (await cp.call('GET', `${path}/deployments`)).body.items as Array<{ id: string; phase: string; reason?: string; message?: string }>;
      return items[0] && ['completed', 'failed'].includes(items[0].phase) ? items[0] : undefined;
    }, 120_000);
    return { ...d, logs: String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body) };
  };

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: PROJECT });
  });
  after(async () => {
    for (const name of ['absent', 'broken', 'unsent']) await cp?.call('DELETE', `${G}/namespaces/${PROJECT}/services/${name}`).catch(() => undefined);
    await until('cleanup', async () => ((await cp.call('GET', `${G}/namespaces/${PROJECT}/services`)).body.items.length === 0 ? true : undefined), 60_000).catch(() => undefined);
    await cp?.stop();
    const images = docker('images', '--filter', `reference=holdfast/${PROJECT}-*`, '--format', '{{.Repository}}:{{.Tag}}');
    if (images) docker('rmi', '-f', ...images.split('\n'));
  });

  it('fails BuildContextUnavailable when the control plane does not hold the digest', async () => {
    const digest = contextDigest(Buffer.from('never uploaded'));
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, service('absent', { app: digest }))).status, 201);
    const d = await outcome('absent');
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'BuildContextUnavailable');
    assert.match(d.message ?? '', new RegExp(`step clone: app: the control plane holds no build context ${digest} for "app"; apply the manifest again`));
  });

  it('fails BuildFailed when the Dockerfile fails, with the build output in the log', async () => {
    const tar = buildContextTar([{ path: 'Dockerfile', content: 'FROM holdfast-test/busybox:1\nRUN echo cbfail-step-output && exit 3\n' }]);
    const digest = contextDigest(tar);
    assert.equal((await cp.plane.buildContexts.put(PROJECT, digest, tar)).created, true);
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, service('broken', { app: digest }))).status, 201);
    const d = await outcome('broken');
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'BuildFailed');
    assert.match(d.message ?? '', /^step build: /);
    assert.match(d.logs, /^clone\s+build context: \d+ KiB$/m);
    assert.match(d.logs, /^build\s+cbfail-step-output$/m);
    assert.equal(docker('ps', '-aq', '--filter', `label=holdfast.dev/project=${PROJECT}`), '', 'no container was created');
  });

  it('says to use holdfast apply when the Service carries no digest for the context', async () => {
    assert.equal((await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, service('unsent'))).status, 201);
    const d = await outcome('unsent');
    assert.equal(d.phase, 'failed');
    assert.equal(d.reason, 'BuildContextUnavailable');
    assert.match(d.message ?? '', /app: the build context "app" was not sent with the Service; apply the manifest with holdfast apply/);
  });
});
