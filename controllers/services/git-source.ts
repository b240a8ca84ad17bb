// Dockerfile builds from git: the control plane resolves the ref to a commit (the frozen input pins
// it), checks the commit out into a temporary directory, and streams the build context as a tar to
// the server's Docker Engine (POST /build over the kept session) — the host needs nothing but Docker.
// git runs here, on the control plane, with an argv (never a shell string) and a timeout.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { HoldfastError } from '../../core/errors.js';

const GIT_TIMEOUT_MS = 5 * 60_000;
const MAX_CONTEXT_BYTES = 512 * 1024 * 1024;
const FULL_SHA = /^[0-9a-f]{40}$/;

function run(cmd: string, args: string[], opts: { cwd?: string; signal?: AbortSignal; maxBuffer?: number; encoding?: 'buffer' } = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        signal: opts.signal,
        timeout: GIT_TIMEOUT_MS,
        maxBuffer: opts.maxBuffer ?? 16 * 1024 * 1024,
        encoding: 'buffer',
        // Never prompt for credentials: a private repository without access fails fast and clearly.
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' },
      },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.toString('utf8').trim().split('\n').slice(-2).join(' | ') || err.message;
          reject(new HoldfastError('BadRequest', `${cmd} ${args[0]} failed: ${detail}`));
        } else resolve({ stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

/** The commit `ref` (a branch, tag or commit; HEAD when absent) names in `url` now. */
export async function resolveCommit(url: string, ref: string | undefined, signal?: AbortSignal): Promise<string> {
  if (ref && FULL_SHA.test(ref)) return ref;
  const { stdout } = await run('git', ['ls-remote', '--', url, ref ?? 'HEAD'], { signal });
  const lines = stdout.toString('utf8').trim().split('\n').filter(Boolean);
  // Prefer an exact branch or tag match; a peeled tag (^{}) names the commit itself.
  const pick = lines.find((l) => l.endsWith(`refs/tags/${ref}^{}`)) ?? lines.find((l) => /\s(refs\/heads\/|refs\/tags\/|HEAD$)/.test(l)) ?? lines[0];
  const sha = pick?.split(/\s+/)[0];
  if (!sha || !FULL_SHA.test(sha)) throw new HoldfastError('BadRequest', `git: ref "${ref ?? 'HEAD'}" not found in ${url}`);
  return sha;
}

/**
 * Checks `commit` out and returns the build context (`context`, relative to the repository root) as
 * a tar stream's bytes, without the .git directory.
 */
export async function contextTarAt(url: string, commit: string, context: string, signal?: AbortSignal): Promise<Buffer> {
  const rel = normalize(context || '.');
  if (rel.startsWith('..') || rel.startsWith('/')) throw new HoldfastError('BadRequest', `build context "${context}" must stay inside the repository`);
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-git-'));
  try {
    await run('git', ['clone', '--quiet', '--no-checkout', '--', url, dir], { signal });
    await run('git', ['-C', dir, 'checkout', '--quiet', '--detach', commit], { signal });
    const { stdout } = await run('tar', ['-C', join(dir, rel), '--exclude=.git', '-cf', '-', '.'], { signal, maxBuffer: MAX_CONTEXT_BYTES });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
