// How long the server's event loop waits behind the embedded store (PGlite) while the store works:
// writers create Service objects (and list them) as controllers would, with a timer measuring the
// loop's delay. Prints the writes a second, the loop delay (p50, p99, max) and the process's RSS;
// run it on two checkouts to compare. No test hosts needed.
//
//   node --import tsx bench/embedded-store-lag.ts [--objects 600] [--writers 4]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openDatabase } from '../store/database.js';
import { ResourceStore } from '../store/resource-store.js';

const { values } = parseArgs({ options: { objects: { type: 'string', default: '600' }, writers: { type: 'string', default: '4' } } });
const objects = Number(values.objects);
const writers = Number(values.writers);

const dir = mkdtempSync(join(tmpdir(), 'holdfast-lag-'));
try {
  const database = await openDatabase({ dataDir: join(dir, 'data') });
  const store = new ResourceStore(database.db);
  const ctx = { actor: 'bench' };
  await store.create({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'lag' }, spec: { environments: [{ name: 'production' }] } }, ctx);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let i = next++; i < objects; i = next++) {
        await store.create({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'lag' }, spec: { environment: 'production', server: 'edge-1', source: { image: 'web:1' } } }, ctx);
        if (i % 50 === 0) await store.list('Service', { namespace: 'lag' });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(`${objects} creates by ${writers} writers in ${seconds.toFixed(2)} s (${(objects / seconds).toFixed(0)} writes/s)`);
  console.log(`event-loop delay: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms`);
  // The whole process: the server's thread and, where it has one, the database's.
  console.log(`process RSS with ${objects} objects stored: ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`);
  await database.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
