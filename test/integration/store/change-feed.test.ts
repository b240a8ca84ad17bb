// The change feed on PostgreSQL: a replica hears other replicas' writes through LISTEN/NOTIFY at
// once, and a change whose notification never came (committed without one, as a notification lost
// between the database and a listener would leave it) is still delivered by the catch-up poll while
// the LISTEN connection stays up, in resourceVersion order and once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { silentLogger } from '../../../observability/logger.js';
import { ChangeFeed } from '../../../store/change-feed.js';
import { openDatabase, type Database } from '../../../store/database.js';
import { ResourceStore, type ChangeEvent } from '../../../store/resource-store.js';
import { createDatabase, startPostgres, type PostgresServer } from '../../support/postgres.js';
import { until } from '../../support/until.js';

const SYSTEM = { actor: 'system:test' };
const POLL_MS = 1000;
const project = (name: string): Resource => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { environments: [{ name: 'production' }] } });

describe('the change feed on PostgreSQL', () => {
  let server: PostgresServer;
  const databases: Database[] = [];
  let feed: ChangeFeed;
  /** The other replicas' stores: one that notifies, one whose commits send no notification. */
  let notifying: ResourceStore;
  let silent: ResourceStore;
  const heard: ChangeEvent[] = [];
  const heardOf = (name: string) => heard.find((e) => e.object.metadata.name === name);

  before(async () => {
    server = await startPostgres();
    const url = await createDatabase(server.url, 'hf_feed_' + randomBytes(5).toString('hex'));
    const open = async () => {
      const database = await openDatabase({ databaseUrl: url });
      databases.push(database);
      return database;
    };
    const listening = new ResourceStore((await open()).db, { shared: true });
    listening.subscribe((e) => heard.push(e));
    feed = new ChangeFeed(listening, { databaseUrl: url, log: silentLogger, pollIntervalMs: POLL_MS });
    await feed.start();
    notifying = new ResourceStore((await open()).db, { shared: true });
    silent = new ResourceStore((await open()).db, { shared: false });
  });
  after(async () => {
    await feed?.stop();
    for (const database of databases) await database.close();
    await server?.stop();
  });

  it('hears a write of another replica through its notification', async () => {
    const written = await notifying.create(project('notified'), SYSTEM);
    const event = await until('the notified write heard', async () => heardOf('notified'), 10_000, 5);
    assert.equal(event.type, 'ADDED');
    assert.equal(String(event.resourceVersion), written.metadata.resourceVersion);
  });

  it('catches up a change whose notification never came, while still listening', async () => {
    const written = await silent.create(project('unnotified'), SYSTEM);
    const event = await until('the unnotified write heard', async () => heardOf('unnotified'), 10 * POLL_MS, 20);
    assert.equal(feed.connected, true, 'the LISTEN connection stayed up: the poll caught it up');
    assert.equal(String(event.resourceVersion), written.metadata.resourceVersion);
    // The next notified change comes after it, and nothing twice.
    await notifying.create(project('after'), SYSTEM);
    await until('the next write heard', async () => heardOf('after'), 10_000, 5);
    assert.deepEqual(heard.map((e) => e.object.metadata.name), ['notified', 'unnotified', 'after']);
    const versions = heard.map((e) => e.resourceVersion);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
  });
});
