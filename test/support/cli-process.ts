// Runs the built CLI (bin/holdfast.js → dist/) as a user would: a child process with only the
// environment a user would set, stdin from `input` (closed at once when there is none).
import { spawn, type ChildProcess } from 'node:child_process';
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

export interface RunningCli {
  child: ChildProcess;
  /** stdout so far, each line with when it arrived (ms since the epoch). */
  lines(): Array<{ at: number; text: string }>;
  stdout(): string;
  stderr(): string;
  done: Promise<CliRun>;
}

/** Starts the CLI and returns at once, for tests that act on it while it runs (send SIGINT). */
export function startCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lines: Array<{ at: number; text: string }> = [];
  child.stdout!.on('data', (d) => {
    stdout += d;
    const complete = stdout.split('\n').slice(0, -1);
    for (const text of complete.slice(lines.length)) lines.push({ at: Date.now(), text });
  });
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.end();
  const done = new Promise<CliRun>((ok, fail) => {
    child.once('error', fail);
    child.once('close', (code) => ok({ code, stdout, stderr }));
  });
  return { child, lines: () => lines, stdout: () => stdout, stderr: () => stderr, done };
}
