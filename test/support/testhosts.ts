// Test hosts for integration tests: starts them through scripts/test-hosts.sh when needed (the script
// skips whatever already runs) and returns their description from <state dir>/hosts.json.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'test-hosts.sh');
const START_TIMEOUT_MS = 10 * 60_000;

export interface TestHost {
  index: number;
  /** Network namespace name, also the host's hostname and its dockerd's name. */
  name: string;
  address: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** `SHA256:…` as OpenSSH prints it. */
  hostKeyFingerprint: string;
  /** `ssh-ed25519 AAAA…`, as a known_hosts line wants it after the address. */
  hostPublicKey: string;
  /** The host's docker socket as seen from this machine (direct access, bypassing SSH). */
  dockerSocket: string;
  /** The socket path as seen over SSH on the host. */
  remoteDockerSocket: string;
  swarmManager: boolean;
  /** A worker of host 1's swarm (hosts 2 and 3); still an ordinary engine for containers. */
  swarmWorker: boolean;
  dockerdPidFile: string;
  sshdPidFile: string;
}

export interface TestHosts {
  stateDir: string;
  subnet: string;
  gateway: string;
  images: { v1: string; v2: string };
  hosts: TestHost[];
}

/**
 * HOLDFAST_TESTHOSTS_OFFSET=N shifts every host a test asks for by N (host 1 becomes host 1+N), so a
 * second run on the same machine can use its own hosts (e.g. 3 and 4) while another uses 1 and 2.
 * Only host 1 is a Swarm manager (hosts 2 and 3 its workers): Swarm tests need the unshifted set.
 */
function hostOffset(): number {
  const offset = Number(process.env.HOLDFAST_TESTHOSTS_OFFSET ?? 0);
  return Number.isInteger(offset) && offset >= 0 ? offset : 0;
}

export function testHostsStateDir(): string {
  return process.env.HOLDFAST_TESTHOSTS_DIR ?? join(ROOT, '.testhosts');
}

/**
 * Ensures hosts 1..count run and returns their description. Hosts beyond `count` that already run are
 * listed too. Host 1 is a Swarm manager; hosts 2 and 3 are its workers.
 */
export async function loadTestHosts(opts: { count?: number; signal?: AbortSignal } = {}): Promise<TestHosts> {
  const count = (opts.count ?? 2) + hostOffset();
  await new Promise<void>((resolvePromise, reject) => {
    execFile(
      'bash',
      [SCRIPT, 'start', String(count)],
      { timeout: START_TIMEOUT_MS, signal: opts.signal, maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`scripts/test-hosts.sh start ${count} failed: ${stderr.trim() || error.message}`));
        else resolvePromise();
      },
    );
  });
  const described = JSON.parse(readFileSync(join(testHostsStateDir(), 'hosts.json'), 'utf8')) as TestHosts;
  if (described.hosts.length < count) {
    throw new Error(`test hosts: asked for ${count}, hosts.json lists ${described.hosts.length}`);
  }
  return described;
}

export function testHost(hosts: TestHosts, index: number): TestHost {
  const host = hosts.hosts.find((h) => h.index === index + hostOffset());
  if (!host) throw new Error(`test host ${index + hostOffset()} is not running`);
  return host;
}

export function readPrivateKey(host: TestHost): string {
  return readFileSync(host.privateKeyPath, 'utf8');
}

/** Runs the docker CLI against a test host's own socket (behind Holdfast's back); resolves with its trimmed stdout. */
export function hostDocker(host: TestHost, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args[0]} on ${host.name} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}
