// The in-memory build context must be a tar that GNU tar reads back byte for byte.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildContextTar } from '../../../core/deploy/context-tar.js';

describe('buildContextTar', () => {
  it('is read back by tar with the same paths, contents and modes', () => {
    const long = `${'deep/'.repeat(25)}file.txt`;
    const files = [
      { path: 'Dockerfile', content: 'FROM holdfast-test/busybox:1\nCOPY app /app\n' },
      { path: 'app/run.sh', content: '#!/bin/sh\necho ü\n', mode: 0o755 },
      { path: 'app/blob.bin', content: Buffer.alloc(1500, 7) },
      { path: long, content: 'long path' },
    ];
    const archive = buildContextTar(files);
    assert.equal(archive.length % 512, 0);
    const dir = mkdtempSync(join(tmpdir(), 'hf-ctx-'));
    try {
      execFileSync('tar', ['-x', '-C', dir], { input: archive });
      for (const file of files) {
        assert.deepEqual(readFileSync(join(dir, file.path)), Buffer.from(file.content), file.path);
        assert.equal(statSync(join(dir, file.path)).mode & 0o777, file.mode ?? 0o644, file.path);
      }
      const listing = execFileSync('tar', ['-t'], { input: archive }).toString().trim().split('\n');
      assert.deepEqual(listing, files.map((f) => f.path));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes directories and symbolic links that tar extracts as such', () => {
    const archive = buildContextTar([
      { path: 'conf', content: '', type: 'directory' },
      { path: 'conf/app.conf', content: 'x' },
      { path: 'current', content: '', type: 'symlink', linkTarget: 'conf/app.conf' },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'hf-ctx-'));
    try {
      execFileSync('tar', ['-x', '-C', dir], { input: archive });
      assert.ok(statSync(join(dir, 'conf')).isDirectory());
      assert.equal(statSync(join(dir, 'conf')).mode & 0o777, 0o755);
      assert.equal(readlinkSync(join(dir, 'current')), 'conf/app.conf');
      assert.equal(readFileSync(join(dir, 'current'), 'utf8'), 'x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => buildContextTar([{ path: 'l', content: '', type: 'symlink', linkTarget: 'x'.repeat(101) }]), /target of 1 to 100 bytes/);
  });

  const bad = ['/etc/passwd', '../escape', 'a/../../b', '', 'a//b'];
  for (const path of bad) {
    it(`refuses the path ${JSON.stringify(path)}`, () => {
      assert.throws(() => buildContextTar([{ path, content: 'x' }]), /relative path/);
    });
  }

  it('refuses the same path twice', () => {
    assert.throws(() => buildContextTar([{ path: 'a', content: '1' }, { path: './a', content: '2' }]), /given twice/);
  });
});
