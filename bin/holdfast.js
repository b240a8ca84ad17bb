#!/usr/bin/env -S node --optimize-for-size
// The `holdfast` command: the CLI bundled into one file by `npm run build` (scripts/build-cli.ts).
// --optimize-for-size: V8 keeps a small young generation and grows the old one more slowly, so a
// `holdfast serve` that has absorbed a burst (a thousand Services declared at once) falls back to what
// it holds instead of keeping the burst's heap until its next full collection; at 1000 Services on
// PostgreSQL that is ~130 MB rather than 160–270 MB, at no measured CPU cost (bench/RESULTS.md).
// Run `node bin/holdfast.js …` and the flag is not set.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/holdfast.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "holdfast: the CLI is not built (dist/cli/holdfast.js is missing): run 'bash scripts/setup.sh run' or 'npm run build'\n",
  );
  process.exit(1);
}
await import(entry.href);
