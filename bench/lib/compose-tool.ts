// Debian's docker-compose 1.29, the tool users would pick instead, driven as they would drive it:
// `docker-compose up -d` against a host's engine, either on the host's socket or over SSH with
// DOCKER_HOST=ssh://user@host. Over SSH, compose runs the system `ssh` client; it gets a private
// client configuration (the test key, a known_hosts file pinning the test host's key, strict
// checking) through an `ssh` shim first on PATH, because OpenSSH reads ~/.ssh from the user's
// passwd entry, not from $HOME.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestHost } from '../../test/support/testhosts.js';

export type ComposeMode = 'local' | 'ssh' | 'ssh-mux';

export const COMPOSE_MODES: Record<ComposeMode, string> = {
  local: 'docker-compose, host socket',
  ssh: 'docker-compose over SSH',
  'ssh-mux': 'docker-compose over SSH (ControlMaster)',
};

/**
 * Over SSH each Engine API request of compose 1.29 opens its own ssh connection (`ssh host docker
 * system dial-stdio`), as many at once as services are created in parallel. Past sshd's default
 * MaxStartups (10 connections still authenticating) sshd drops connections and compose dies
 * (SIGPIPE) without creating anything. The usual remedies fail too: COMPOSE_PARALLEL_LIMIT below
 * the number of services deadlocks compose 1.x (docker/compose#5864), and COMPOSE_PARAMIKO_SSH=1
 * multiplexes sessions over one connection until sshd's MaxSessions (10) refuses them. What works
 * is bringing the services up a few at a time: `up -d` with at most this many service names.
 */
export const SSH_SERVICES_PER_UP = 8;
/** Up to this many services, one `up -d` over SSH stays under MaxStartups and succeeds. */
export const SSH_SINGLE_UP_MAX_SERVICES = 10;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runProcess(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; signal?: AbortSignal }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, timeout: opts.timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

function succeeds(file: string, args: string[]): Promise<boolean> {
  return new Promise((ok) => execFile(file, args, { timeout: 30_000 }, (err) => ok(!err)));
}

/**
 * Makes sure `docker-compose` runs and can speak SSH (docker-py needs paramiko importable for
 * ssh:// even when it shells out to the ssh client); installs the Debian packages if not.
 */
export async function ensureDockerCompose(log: (line: string) => void): Promise<string> {
  // paramiko must import in the Python docker-compose runs on (its #! line), not whichever is first on PATH.
  const interpreter = () => {
    try {
      return /^#!\s*(\S+)/.exec(readFileSync(findOnPath('docker-compose', ''), 'utf8').slice(0, 200))?.[1] ?? 'python3';
    } catch {
      return 'python3';
    }
  };
  const ready = async () => (await succeeds('docker-compose', ['version', '--short'])) && (await succeeds(interpreter(), ['-c', 'import paramiko']));
  if (!(await ready())) {
    log('installing the Debian packages docker-compose and python3-paramiko');
    const res = await runProcess('flock', ['/tmp/apt.lock', 'apt-get', 'install', '-y', '-q', 'docker-compose', 'python3-paramiko'], { timeoutMs: 10 * 60_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (res.code !== 0) throw new Error(`apt-get install docker-compose python3-paramiko failed (exit ${res.code}): ${res.stderr.trim().split('\n').slice(-3).join(' ')}`);
    if (!(await ready())) throw new Error('docker-compose was installed but does not run (docker-compose version failed)');
  }
  const version = await runProcess('docker-compose', ['version', '--short'], { timeoutMs: 30_000 });
  return version.stdout.trim();
}

function findOnPath(command: string, skip: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir || dir === skip) continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${command} is not installed (not found on PATH)`);
}

/** One compose project on one test host, reached in one mode. */
export class ComposeTool {
  private readonly env: NodeJS.ProcessEnv;
  private readonly composeFile: string;
  private readonly sshConfig?: string;
  private readonly controlDir?: string;

  constructor(
    readonly mode: ComposeMode,
    private readonly host: TestHost,
    readonly project: string,
    private readonly workDir: string,
  ) {
    mkdirSync(workDir, { recursive: true });
    this.composeFile = join(workDir, 'docker-compose.yml');
    const home = join(workDir, 'home');
    mkdirSync(home, { recursive: true });
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', COMPOSE_PROJECT_NAME: project };
    if (mode === 'local') {
      env.DOCKER_HOST = `unix://${host.dockerSocket}`;
    } else {
      const sshDir = join(home, '.ssh');
      mkdirSync(sshDir, { recursive: true, mode: 0o700 });
      const knownHosts = join(sshDir, 'known_hosts');
      writeFileSync(knownHosts, `${host.address} ${host.hostPublicKey}\n`, { mode: 0o600 });
      this.sshConfig = join(sshDir, 'config');
      const lines = [
        `Host ${host.address}`,
        `  User ${host.user}`,
        `  Port ${host.port}`,
        `  IdentityFile ${host.privateKeyPath}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${knownHosts}`,
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  LogLevel ERROR',
      ];
      // The usual remedy for many short SSH connections: one master connection, sessions multiplexed.
      if (mode === 'ssh-mux') {
        // A short directory: the socket path must fit a sockaddr_un (108 bytes) with ssh's suffix.
        this.controlDir = mkdtempSync('/tmp/bench-cm-');
        lines.push(`  ControlMaster auto`, `  ControlPath ${join(this.controlDir, '%C')}`, '  ControlPersist 120');
      }
      writeFileSync(this.sshConfig, lines.join('\n') + '\n', { mode: 0o600 });
      const binDir = join(workDir, 'bin');
      mkdirSync(binDir, { recursive: true });
      const shim = join(binDir, 'ssh');
      writeFileSync(shim, `#!/bin/sh\nexec ${findOnPath('ssh', binDir)} -F ${this.sshConfig} "$@"\n`);
      chmodSync(shim, 0o755);
      env.PATH = `${binDir}${delimiter}${env.PATH}`;
      env.DOCKER_HOST = `ssh://${host.user}@${host.address}${host.port === 22 ? '' : `:${host.port}`}`;
    }
    this.env = env;
  }

  get label(): string {
    return COMPOSE_MODES[this.mode];
  }

  writeComposeFile(document: string): void {
    writeFileSync(this.composeFile, document);
  }

  get overSsh(): boolean {
    return this.mode !== 'local';
  }

  /** `docker-compose up -d [SERVICE…]`; throws with compose's own words when it fails. */
  async up(opts: { timeoutMs: number; services?: string[]; signal?: AbortSignal }): Promise<number> {
    const args = ['-f', this.composeFile, '-p', this.project, 'up', '-d', ...(opts.services ?? [])];
    const res = await runProcess('docker-compose', args, { env: this.env, cwd: this.workDir, timeoutMs: opts.timeoutMs, signal: opts.signal });
    if (res.code !== 0) {
      const tail = (res.stderr + res.stdout).trim().split('\n').filter((l) => !/ done$|^Creating|^Starting|^Recreating/.test(l)).slice(-4).join(' | ');
      throw new Error(`docker-compose up -d (${this.label}) failed with exit ${res.code ?? 'signal'} after ${(res.ms / 1000).toFixed(1)} s: ${tail}`);
    }
    return res.ms;
  }

  /** Ends the ControlMaster connection of the ssh-mux mode, if one runs. */
  async close(): Promise<void> {
    if (this.mode !== 'ssh-mux' || !this.sshConfig) return;
    await runProcess(findOnPath('ssh', ''), ['-F', this.sshConfig, '-O', 'exit', this.host.address], { timeoutMs: 10_000 }).catch(() => undefined);
    if (this.controlDir) rmSync(this.controlDir, { recursive: true, force: true });
  }
}
