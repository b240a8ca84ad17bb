#!/usr/bin/env node
// The `holdfast` command: the CLI bundled into one file by `npm run build` (scripts/build-cli.ts).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/holdfast.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "holdfast: the CLI is not built (dist/cli/holdfast.js is missing): run 'bash scripts/setup.sh run' or 'npm run build'\n",
  );
  process.exit(1);
}
await import(entry.href);
