// A bare Git repository in a temporary directory and a clone to commit from: what the GitOps tests
// push to and point a GitRepository at.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface GitRemote {
  /** The bare repository's path: a GitRepository's spec.url. */
  bare: string;
  /** `git -C <clone> ...args`, trimmed output. */
  git(...args: string[]): string;
  /**
   * Writes (or with null removes) files in the clone, commits (signed with an SSH key file, or a GPG
   * key of a GnuPG home, if given), pushes to main; returns the commit.
   */
  push(files: Record<string, string | null>, message: string, opts?: { signingKey?: string; gpg?: { home: string; key: string } }): string;
  remove(): void;
}

export function createGitRemote(name = 'platform'): GitRemote {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-gitops-'));
  const bare = join(dir, `${name}.git`);
  const work = join(dir, 'work');
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  execFileSync('git', ['clone', '--quiet', bare, work], { stdio: 'ignore' });
  const gitWith = (env: Record<string, string>, ...args: string[]) => execFileSync('git', ['-C', work, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }).trim();
  const git = (...args: string[]) => gitWith({}, ...args);
  return {
    bare,
    git,
    push(files, message, opts = {}) {
      for (const [file, text] of Object.entries(files)) {
        const path = join(work, file);
        if (text === null) unlinkSync(path);
        else {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, text);
        }
      }
      git('add', '--all');
      const sign = opts.signingKey
        ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${opts.signingKey}`, 'commit', '-S']
        : opts.gpg
          ? ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${opts.gpg.key}`, 'commit', '-S']
          : ['commit'];
      gitWith(opts.gpg ? { GNUPGHOME: opts.gpg.home } : {}, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...sign, '--quiet', '--allow-empty', '-m', message);
      git('push', '--quiet', 'origin', 'HEAD:main');
      return git('rev-parse', 'HEAD');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
