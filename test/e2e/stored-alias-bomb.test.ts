// A Service stored with a YAML alias bomb in its compose file (as an older version could store it,
// bypassing today's admission) must not take `holdfast serve` down when a restarted server renders
// it: the Service says why it cannot be deployed, and the server keeps answering.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { openDatabase } from '../../store/database.js';
import { resources } from '../../store/schema.js';
import { aliasBomb } from '../support/hostile-input.js';
import { serveApi, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { until } from '../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

describe('a stored compose alias bomb after a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-bomb-'));
  let serve: ServeProcess | undefined;
  // The whole path; `serve` is started in before().
  const call = (method: string, path: string, body?: unknown) => serveApi(serve!).request(method, path, body);
  after(async () => {
    await serve?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('marks the Service InvalidSpec and keeps serving', async () => {
    serve = await startServeProcess({ dataDir });
    assert.equal((await call('POST', `${G}/projects`, { metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } })).status, 201);
    const compose = { file: 'compose.yaml', files: { 'compose.yaml': 'services:\n  web:\n    image: holdfast-test/busybox:1\n' } };
    const created = await call('POST', `${G}/namespaces/shop/services`, {
      metadata: { name: 'bomb', namespace: 'shop' },
      spec: { environment: 'production', server: 'edge-1', source: { compose } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await serve.stop();

    // Straight into the store, as a server without today's admission would have written it.
    const database = await openDatabase({ dataDir });
    try {
      const where = and(eq(resources.kind, 'Service'), eq(resources.namespace, 'shop'), eq(resources.name, 'bomb'));
      const [row] = await database.db.select().from(resources).where(where);
      const spec = row.spec as { source: { compose: { files: Record<string, string> } } };
      spec.source.compose.files['compose.yaml'] = aliasBomb(9, 10, 'services');
      await database.db.update(resources).set({ spec, generation: row.generation + 1 }).where(where);
    } finally {
      await database.close();
    }

    serve = await startServeProcess({ dataDir });
    const ready = await until('the Service to say why it cannot be deployed', async () => {
      const res = await call('GET', `${G}/namespaces/shop/services/bomb`);
      const condition = (res.body?.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      return condition?.reason === 'InvalidSpec' ? condition : undefined;
    }, 60_000);
    assert.match(ready.message, /compose file compose\.yaml: refused: the document is too large: more than 1000000 nodes once aliases are expanded/);
    // Still alive and small a while later, not in the middle of expanding it.
    await new Promise((ok) => setTimeout(ok, 3000));
    assert.equal(serve.child.exitCode, null, serve.output());
    assert.equal((await fetch(serve.url + '/healthz')).status, 200);
    assert.ok(rssMiB(serve.child.pid!) < 600, `RSS ${rssMiB(serve.child.pid!)} MiB`);
    assert.equal((await call('GET', `${G}/namespaces/shop/services`)).status, 200);
  });
});
