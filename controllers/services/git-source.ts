// Dockerfile builds from git: the control plane resolves the ref to a commit (the frozen input pins
// it), checks the commit out into a temporary directory, and streams the build context as a tar to
// the server's Docker Engine (POST /build over the kept session) — the host needs nothing but Docker.
// git runs here, on the control plane, with an argv (never a shell string) and a timeout.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { HoldfastError } from '../../core/errors.js';
import { runCommand as run } from '../git/git-command.js';

const MAX_CONTEXT_BYTES = 512 * 1024 * 1024;
const FULL_SHA = /^[0-9a-f]{40}$/;

/** How long an answer of the remote is trusted before a render asks it again. */
export const COMMIT_MAX_AGE_MS = 60_000;
const LS_REMOTE_TIMEOUT_MS = 30_000;

/**
 * The commit `ref` (a branch, tag or commit; HEAD when absent) names in `url` now. A remote that does
 * not answer is `ServiceUnavailable` (try again later); a ref it does not have is `BadRequest`.
 */
export async function resolveCommit(url: string, ref: string | undefined, signal?: AbortSignal): Promise<string> {
  if (ref && FULL_SHA.test(ref)) return ref;
  const { stdout } = await run('git', ['ls-remote', '--', url, ref ?? 'HEAD'], { signal, timeoutMs: LS_REMOTE_TIMEOUT_MS }).catch((err: Error) => {
    if (signal?.aborted) throw err;
    throw new HoldfastError('ServiceUnavailable', `cannot read ref "${ref ?? 'HEAD'}" of ${url}: ${err.message}`);
  });
  const lines = stdout.toString('utf8').trim().split('\n').filter(Boolean);
  // Prefer an exact branch or tag match; a peeled tag (^{}) names the commit itself.
  const pick = lines.find((l) => l.endsWith(`refs/tags/${ref}^{}`)) ?? lines.find((l) => /\s(refs\/heads\/|refs\/tags\/|HEAD$)/.test(l)) ?? lines[0];
  const sha = pick?.split(/\s+/)[0];
  if (!sha || !FULL_SHA.test(sha)) throw new HoldfastError('BadRequest', `git: ref "${ref ?? 'HEAD'}" not found in ${url}`);
  return sha;
}

/**
 * Resolves refs to commits, trusting each answer for `maxAgeMs`: the service controller and the drift
 * checks render a Service often, and the remote is asked at most once a minute per ref (and once at a
 * time), not on every render. `fresh` asks now (an explicit sync wants the ref's newest commit).
 */
export class CommitResolver {
  private readonly known = new Map<string, { commit: string; at: number }>();
  private readonly asking = new Map<string, Promise<string>>();

  constructor(private readonly opts: { maxAgeMs?: number; now?: () => number; resolve?: typeof resolveCommit } = {}) {}

  async resolve(url: string, ref: string | undefined, opts: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<string> {
    if (ref && FULL_SHA.test(ref)) return ref;
    const key = `${url}\u0000${ref ?? ''}`;
    const now = this.opts.now ?? Date.now;
    const known = this.known.get(key);
    if (known && !opts.fresh && now() - known.at < (this.opts.maxAgeMs ?? COMMIT_MAX_AGE_MS)) return known.commit;
    let asking = this.asking.get(key);
    if (!asking) {
      asking = (this.opts.resolve ?? resolveCommit)(url, ref, opts.signal).finally(() => this.asking.delete(key));
      this.asking.set(key, asking);
    }
    const commit = await asking;
    this.known.set(key, { commit, at: now() });
    return commit;
  }
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
