// Runs the built CLI (bin/holdfast.js → dist/) as a user would: a child process with only the
// environment a user would set, stdin from `input` (closed at once when there is none).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const CLI_PATH = join(packageRoot(), 'bin', 'holdfast.js');

export function runCli(args: string[], env: Record<string, string>, options: { input?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
