// Argument quoting for commands run by the remote login shell: each argv must come back unchanged
// from a real POSIX shell, whatever characters it holds.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { quoteArg, quoteArgv } from '../../../hosts/exec.js';

describe('quoteArg', () => {
  const cases: Array<[string, string]> = [
    ['docker', 'docker'],
    ['--format={{json .}}', "'--format={{json .}}'"],
    ['/var/run/docker.sock', '/var/run/docker.sock'],
    ['unix:///var/run/docker.sock', 'unix:///var/run/docker.sock'],
    ['', "''"],
    ['two words', "'two words'"],
    ["it's", `'it'\\''s'`],
    ['$(reboot)', "'$(reboot)'"],
    ['a;b', "'a;b'"],
    ['~', "'~'"],
    ['*', "'*'"],
    ['line\nbreak', "'line\nbreak'"],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(quoteArg(input), expected));
  }

  it('refuses NUL bytes, which no shell argument can hold', () => {
    assert.throws(() => quoteArg('a\0b'), /NUL/);
  });

  it('refuses an empty argv', () => {
    assert.throws(() => quoteArgv([]), /program name/);
  });
});

describe('quoteArgv through /bin/sh', () => {
  const argvs: string[][] = [
    ['printf', '%s\\0', 'plain'],
    ['printf', '%s\\0', "single ' quote", 'double " quote', 'back\\slash', '$HOME', '`id`', '$(id)', '; rm -rf /'],
    ['printf', '%s\\0', '', ' leading space', 'tab\there', 'new\nline', '*', '?', '[a]', '{a,b}', '~root', '#hash', '!bang'],
    ['printf', '%s\\0', 'ünïcödé', '日本', 'emoji 🚀', "''", "'", '"', '\\'],
  ];
  for (const argv of argvs) {
    it(`round-trips ${JSON.stringify(argv.slice(2))}`, () => {
      const out = execFileSync('/bin/sh', ['-c', quoteArgv(argv)], { env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } });
      const parsed = out.toString('utf8').split('\0').slice(0, -1);
      assert.deepEqual(parsed, argv.slice(2));
    });
  }
});
