// The built CLI's bundle as bin/holdfast.js runs it: compiled from the code cache the build wrote
// beside it, which V8 must accept (or every command compiles the bundle again), and with no import()
// left in it but serve's, which bin/holdfast.js loads without the cache (Node 20 cannot import()
// from code compiled from a cache: such an import() fails when the command runs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../core/package-root.js';
import { runCli } from '../support/cli-process.js';

const BUNDLE = join(packageRoot(), 'dist', 'cli', 'holdfast.cjs');

describe('the CLI bundle and its code cache', () => {
  it('has a code cache that this Node accepts', () => {
    assert.ok(existsSync(`${BUNDLE}.cache`), `${BUNDLE}.cache is missing: npm run build writes it`);
    // As bin/holdfast.js compiles it, in a Node started as the command starts (no extra flags).
    const rejected = execFileSync(
      process.execPath,
      [
        '-e',
        `const vm = require('node:vm'), fs = require('node:fs'), M = require('node:module');
         const s = new vm.Script(M.wrap(fs.readFileSync(process.argv[1], 'utf8')), { filename: process.argv[1], cachedData: fs.readFileSync(process.argv[1] + '.cache') });
         process.stdout.write(String(s.cachedDataRejected));`,
        BUNDLE,
      ],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' },
    );
    assert.equal(rejected, 'false');
  });

  it("leaves no import() in the bundle but serve's", () => {
    const imports = [...readFileSync(BUNDLE, 'utf8').matchAll(/\bimport\(\s*("[^"]*"|[^)]{0,40})/g)].map((m) => m[1]);
    assert.deepEqual(imports, ['"./commands/serve.js"']);
  });

  it('runs a command from the cache, and reads its key file with ssh2 loaded on demand', async () => {
    const version = await runCli(['--version'], {});
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version);
    // The fingerprint is computed before any request: a key that is not one fails there, by ssh2.
    const bad = await runCli(['access-assets', 'ssh-key', 'create', '--name', 'k', '--private-key-file', BUNDLE], { HOLDFAST_URL: 'http://127.0.0.1:9', HOLDFAST_TOKEN: 't' });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /not a usable unencrypted OpenSSH private key/);
    assert.doesNotMatch(bad.stderr, /dynamic import/);
  });
});
