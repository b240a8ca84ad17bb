#!/usr/bin/env node
// The `holdfast` command: runs the CLI, bundled into one CommonJS file by `npm run build`
// (scripts/build-cli.ts). This file is CommonJS too (bin/package.json says so): Node starts a
// CommonJS entry ~10 ms sooner than an ES module, and most commands live ~150 ms.
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'cli', 'holdfast.cjs');
if (!existsSync(bundle)) {
  process.stderr.write("holdfast: the CLI is not built (dist/cli/holdfast.cjs is missing): run 'bash scripts/setup.sh run' or 'npm run build'\n");
  process.exit(1);
}
// `serve` import()s the server, which Node 20 cannot do from code compiled from a code cache; it
// starts once and lives long, so it loads the bundle as any module. (An argument that merely reads
// "serve" only costs that command the cache.)
if (process.argv.includes('serve')) require(bundle);
else runBundle();

/**
 * Runs the bundle as `require` would, but compiled from the code cache the build wrote beside it
 * (`<bundle>.cache`): V8 reads the functions it compiled then instead of compiling them again,
 * ~10–15 ms of a start. Without the cache, or where V8 refuses it (another Node), it compiles as
 * usual. HOLDFAST_WRITE_CODE_CACHE=FILE writes the cache at exit (the build does).
 */
function runBundle() {
  const vm = require('node:vm');
  const Module = require('node:module');
  const writeTo = process.env.HOLDFAST_WRITE_CODE_CACHE;
  const cacheFile = writeTo || `${bundle}.cache`;
  const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  if (writeTo) process.once('exit', () => writeFileSync(writeTo, script.createCachedData()));
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  mod.paths = Module._nodeModulePaths(dirname(bundle));
  mod.loaded = true;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, dirname(bundle));
}
