// git (and tar beside it) on the control plane: an argv, never a shell string, a timeout, and an
// environment that never prompts. Credentials reach git through the environment or files written
// 0600, never through the command line, so they appear in no process list and no error message.
import { execFile } from 'node:child_process';
import { HoldfastError } from '../../core/errors.js';

export const DEFAULT_GIT_TIMEOUT_MS = 5 * 60_000;
// What git adds after every failed remote read; the line before it (ssh's) says what went wrong.
const GIT_BOILERPLATE = /^(fatal: Could not read from remote repository\.|Please make sure you have the correct access rights|and the repository exists\.)$/;

export interface CommandOptions {
  cwd?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBuffer?: number;
  /** Added to the process environment (GIT_SSH_COMMAND, GIT_CONFIG_* for an https header). */
  env?: Record<string, string>;
}

export function runCommand(cmd: string, args: string[], opts: CommandOptions = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        signal: opts.signal,
        timeout: opts.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: opts.maxBuffer ?? 16 * 1024 * 1024,
        encoding: 'buffer',
        // Never prompt for credentials: a private repository without access fails fast and clearly.
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true', ...opts.env },
      },
      (err, stdout, stderr) => {
        if (err) {
          const timedOut = (err as { killed?: boolean }).killed && !opts.signal?.aborted;
          const detail = timedOut
            ? `timed out after ${Math.round((opts.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS) / 1000)}s`
            : stderr
                .toString('utf8')
                .split('\n')
                .map((l) => l.trim())
                .filter((l) => l && !GIT_BOILERPLATE.test(l))
                .slice(-2)
                .join(' | ') || err.message;
          const what = cmd === 'git' ? `git ${gitVerb(args)}` : cmd;
          reject(new HoldfastError('BadRequest', `${what} failed: ${detail}`));
        } else resolve({ stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

/** The subcommand of a git argv (`fetch` in `-C dir fetch …`), for messages. */
function gitVerb(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-C' || args[i] === '-c') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return args[0] ?? '';
}
