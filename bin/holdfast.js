#!/usr/bin/env node
// The `holdfast` command. The CLI is TypeScript compiled to dist/ by `npm run build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "holdfast: the CLI is not built (dist/cli/main.js is missing): run 'bash scripts/setup.sh run' or 'npm run build'\n",
  );
  process.exit(1);
}
await import(entry.href);
