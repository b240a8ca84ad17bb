// Resolving a git build's ref: answers are trusted for a while and asked once at a time; a remote that
// does not answer is ServiceUnavailable (try again), a ref it does not have is BadRequest (fix the spec).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CommitResolver, resolveCommit } from '../../../controllers/services/git-source.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function counted(answers: string[]) {
  let asked = 0;
  const resolve = async () => answers[Math.min(asked++, answers.length - 1)];
  return { resolve, asked: () => asked };
}

describe('CommitResolver', () => {
  it('asks the remote again only once an answer is older than its max age, or when asked for fresh', async () => {
    let now = 0;
    const remote = counted([A, B, B]);
    const commits = new CommitResolver({ maxAgeMs: 60_000, now: () => now, resolve: remote.resolve });
    const cases: Array<[at: number, fresh: boolean, commit: string, asked: number]> = [
      [0, false, A, 1],
      [59_999, false, A, 1],
      [60_000, false, B, 2],
      [60_001, true, B, 3],
    ];
    for (const [at, fresh, commit, asked] of cases) {
      now = at;
      assert.equal(await commits.resolve('file:///repo', 'main', { fresh }), commit, `at ${at}`);
      assert.equal(remote.asked(), asked, `asked by ${at}`);
    }
  });

  it('keeps refs apart, passes a full commit through, and asks once for renders that come together', async () => {
    const remote = counted([A]);
    const commits = new CommitResolver({ resolve: remote.resolve });
    assert.equal(await commits.resolve('file:///repo', B), B, 'a full commit is its own answer');
    const answers = await Promise.all([1, 2, 3].map(() => commits.resolve('file:///repo', 'main')));
    assert.deepEqual(answers, [A, A, A]);
    assert.equal(remote.asked(), 1);
    await commits.resolve('file:///repo', 'release');
    assert.equal(remote.asked(), 2, 'another ref is another question');
  });

  it('does not remember a failure', async () => {
    let fail = true;
    const commits = new CommitResolver({ resolve: async () => (fail ? Promise.reject(new Error('unreachable')) : A) });
    await assert.rejects(commits.resolve('file:///repo', 'main'), /unreachable/);
    fail = false;
    assert.equal(await commits.resolve('file:///repo', 'main'), A);
  });
});

describe('resolveCommit on a real repository', () => {
  it('names the commit of a branch; a missing ref is BadRequest, a missing remote ServiceUnavailable', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'holdfast-resolve-'));
    try {
      execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo]);
      execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '--allow-empty', '-m', 'first']);
      const head = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      assert.equal(await resolveCommit(`file://${repo}`, 'main'), head);
      await assert.rejects(resolveCommit(`file://${repo}`, 'no-such-branch'), { reason: 'BadRequest', message: /ref "no-such-branch" not found/ });
      await assert.rejects(resolveCommit(`file://${repo}-gone`, 'main'), { reason: 'ServiceUnavailable', message: /cannot read ref "main" of file:\/\/.*-gone: git ls-remote failed/ });
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
