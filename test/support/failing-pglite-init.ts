// Stands in for store/pglite-init-process.ts in tests of an initialisation that goes wrong. It
// writes part of a data directory first, as a real initdb would, then behaves as
// HOLDFAST_TEST_INIT_FAILURE says: `kill` (killed half-way), `error` (reports an error), `silent`
// (exits with code 3 without a word), `hang` (never finishes).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dataDir] = process.argv.slice(2);
mkdirSync(join(dataDir!, 'base'), { recursive: true });
writeFileSync(join(dataDir!, 'PG_VERSION'), '17\n');
switch (process.env.HOLDFAST_TEST_INIT_FAILURE) {
  case 'kill':
    process.stderr.write('initdb: half-way\n');
    process.kill(process.pid, 'SIGKILL');
    break;
  case 'error':
    process.send!({ error: 'INITDB failed to initialize: out of disk space (test)' }, undefined, {}, () => process.exit(1));
    break;
  case 'hang':
    setInterval(() => {}, 1000);
    break;
  default:
    process.exit(3);
}
