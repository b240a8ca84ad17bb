// The data directory's guards on their own: the lock (one holder; released on close, leaving no
// file; the holder's pid in the refusal) and the modes (group and world bits removed, links skipped).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lockDataDir } from '../../../store/data-dir-lock.js';
import { restrictDataDirModes } from '../../../store/data-dir-modes.js';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'hf-datadir-'));
  dirs.push(dir);
  return dir;
};
const mode = (path: string) => statSync(path).mode & 0o777;

describe('the data directory', () => {
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('is locked by one holder at a time, and the refusal names the holder', () => {
    const dir = newDir();
    const lock = lockDataDir(dir);
    assert.deepEqual(readdirSync(dir), ['serve.lock']);
    assert.throws(() => lockDataDir(dir), { name: 'HoldfastError', message: `data directory ${dir} is in use by pid ${process.pid}: stop it first, or use another --data-dir` });
    lock.release();
    assert.deepEqual(readdirSync(dir), [], 'the lock file goes with its holder');
    const again = lockDataDir(dir);
    again.release();
    again.release();
  });

  it('takes group and world permissions off every entry, following no link', () => {
    const dir = newDir();
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'pgdata', 'global'), { recursive: true, mode: 0o777 });
    chmodSync(join(dir, 'pgdata', 'global'), 0o777);
    writeFileSync(join(dir, 'pgdata', 'global', 'pg_control'), 'x', { mode: 0o666 });
    chmodSync(join(dir, 'pgdata', 'global', 'pg_control'), 0o666);
    writeFileSync(join(dir, 'encryption.key'), 'k', { mode: 0o600 });
    const outside = newDir();
    writeFileSync(join(outside, 'shared'), 's');
    chmodSync(join(outside, 'shared'), 0o644);
    symlinkSync(join(outside, 'shared'), join(dir, 'link'));
    assert.equal(restrictDataDirModes(dir), 4);
    assert.deepEqual(
      [dir, join(dir, 'pgdata'), join(dir, 'pgdata', 'global'), join(dir, 'pgdata', 'global', 'pg_control'), join(dir, 'encryption.key')].map(mode),
      [0o700, 0o700, 0o700, 0o600, 0o600],
    );
    assert.equal(mode(join(outside, 'shared')), 0o644, 'a link target outside is not ours to change');
    assert.equal(restrictDataDirModes(dir), 0, 'nothing left to change');
  });
});
