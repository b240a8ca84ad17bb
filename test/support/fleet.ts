// The objects every host-facing test starts from: a Project, the test hosts' SSH key as an SSHKey,
// and a Server for one test host, created through the API of a running control plane.
import assert from 'node:assert/strict';
import { readPrivateKey, type TestHost } from './testhosts.js';

const G = '/apis/holdfast.dev/v1alpha1';

export interface ApiCaller {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

export async function createFleet(api: ApiCaller, host: TestHost, opts: { project: string; server?: string; environments?: string[]; kind?: 'docker-engine' | 'docker-swarm-manager' }): Promise<void> {
  const server = opts.server ?? 'edge';
  const post = async (path: string, body: unknown) => {
    const res = await api.call('POST', path, body);
    assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
  };
  const environments = (opts.environments ?? ['production']).map((name) => ({ name }));
  await post(`${G}/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: opts.project }, spec: { environments } });
  await post(`${G}/sshkeys`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: `${server}-key` }, spec: { privateKey: readPrivateKey(host) } });
  await post(`${G}/servers`, {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Server',
    metadata: { name: server },
    spec: { ...(opts.kind ? { kind: opts.kind } : {}), host: host.address, port: host.port, user: host.user, sshKeyRef: { name: `${server}-key` }, hostKeyFingerprint: host.hostKeyFingerprint },
  });
}
