#!/usr/bin/env node
// The `holdfast` command: runs the CLI, bundled into one CommonJS file by `npm run build`
// (scripts/build-cli.ts). This file is CommonJS too (bin/package.json says so): Node starts a
// CommonJS entry ~10 ms sooner than an ES module, and most commands live ~150 ms.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'cli', 'holdfast.cjs');
if (!existsSync(bundle)) {
  process.stderr.write("holdfast: the CLI is not built (dist/cli/holdfast.cjs is missing): run 'bash scripts/setup.sh run' or 'npm run build'\n");
  process.exit(1);
}
require(bundle);
