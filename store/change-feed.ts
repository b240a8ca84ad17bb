// Several replicas on one PostgreSQL: each write's transaction sends NOTIFY with its
// resourceVersion (PostgreSQL delivers it at commit, in commit order). Each replica LISTENs on one
// dedicated connection and, on a notification, reads the change log from where it last read, so its
// watches and controllers hear every change, its own included, in resourceVersion order. The log is
// the source of truth: what was written while the connection was down is read when it is back. While
// listening, a rare poll only catches up what a notification did not bring (a read that failed, a
// connection that died without telling); while not, the log is polled every few seconds.
import pg from 'pg';
import { fullJitterDelay, type BackoffPolicy } from '../core/backoff.js';
import type { Logger } from '../observability/logger.js';
import { CHANGES_CHANNEL, type ResourceStore } from './resource-store.js';

export const CHANGE_FEED_APPLICATION_NAME = 'holdfast-change-feed';

export const DEFAULT_POLL_INTERVAL_MS = 60_000;
/** How often the log is read while the LISTEN connection is down. */
const UNHEARD_POLL_INTERVAL_MS = 5_000;

export interface ChangeFeedOptions {
  databaseUrl: string;
  log: Logger;
  /** While listening, the change log is still read this often, to catch up what no notification brought. */
  pollIntervalMs?: number;
  reconnect?: BackoffPolicy;
}

export class ChangeFeed {
  private client?: pg.Client;
  private stopped = false;
  private attempt = 0;
  private pollTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly pollIntervalMs: number;
  private readonly reconnect: BackoffPolicy;

  constructor(
    private readonly store: ResourceStore,
    private readonly opts: ChangeFeedOptions,
  ) {
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.reconnect = opts.reconnect ?? { baseMs: 200, capMs: 5_000 };
  }

  /** True while the LISTEN connection is up. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Switches the store to the log and listens; fails when the first connection fails. */
  async start(): Promise<void> {
    await this.store.followLog();
    await this.connect();
    const poll = () => {
      this.pollTimer = setTimeout(() => {
        void this.read().finally(() => !this.stopped && poll());
      }, this.connected ? this.pollIntervalMs : Math.min(this.pollIntervalMs, UNHEARD_POLL_INTERVAL_MS));
      this.pollTimer.unref();
    };
    poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.opts.databaseUrl,
      application_name: CHANGE_FEED_APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    client.on('notification', (n) => {
      const rv = Number(n.payload);
      if (Number.isSafeInteger(rv)) void this.read(rv);
    });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.opts.log.warn({ err }, 'change feed connection lost; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    // Whatever was committed while nobody listened.
    await this.read();
  }

  private scheduleReconnect() {
    const delay = fullJitterDelay(this.attempt++, this.reconnect);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => this.opts.log.info({ resourceVersion: this.store.deliveredResourceVersion }, 'change feed reconnected'),
        (err) => {
          if (this.stopped) return;
          this.opts.log.warn({ err, attempt: this.attempt }, 'change feed reconnect failed; retrying');
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  private async read(notified?: number): Promise<void> {
    try {
      await this.store.catchUp(notified);
    } catch (err) {
      this.opts.log.warn({ err }, 'reading the change log failed; the next notification or poll retries');
    }
  }
}
