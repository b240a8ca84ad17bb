// Shared setup for the execution-plane integration tests: sessions and clients for the test hosts,
// direct docker CLI access to a host's own socket (to change things behind Holdfast's back), polling.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { DockerClient } from '../../../hosts/docker-client.js';
import { SshDockerTransport } from '../../../hosts/docker-transport.js';
import type { HostObserver } from '../../../core/observers.js';
import { SshSession, type SshSessionOptions } from '../../../hosts/ssh-session.js';
import { readPrivateKey, type TestHost } from '../../support/testhosts.js';

/** Test host 3 is the one these tests stop, cut and restart; the others are left running as they are. */
export const DISRUPTED_HOST = 3;

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function sessionFor(host: TestHost, options: SshSessionOptions = {}, overrides: { user?: string; privateKey?: string; port?: number } = {}): SshSession {
  return new SshSession(
    {
      server: host.name,
      host: host.address,
      port: overrides.port ?? host.port,
      user: overrides.user ?? host.user,
      privateKey: overrides.privateKey ?? readPrivateKey(host),
      hostKeyFingerprint: host.hostKeyFingerprint,
    },
    options,
  );
}

export function dockerOver(session: SshSession, observer?: HostObserver): DockerClient {
  return new DockerClient(new SshDockerTransport(session, '/var/run/docker.sock', { observer }));
}

/** Runs the docker CLI against the host's own socket, bypassing SSH. */
export function hostDocker(host: TestHost, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args[0]} on ${host.name} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A free-looking TCP port in a range the tests own on every host. */
export function testPort(): number {
  return 20_000 + Math.floor(Math.random() * 10_000);
}
