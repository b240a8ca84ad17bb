// The embedded database in a thread of its own (store/pglite-worker.ts), seen from the server's
// thread as the part of PGlite that drizzle uses: query(sql, params, options) and transaction(fn).
// A query here is a message to the database's thread and an await of its answer: the server's own
// thread never runs one, so the API and the SSH sessions go on while the database works.
import { Worker } from 'node:worker_threads';

interface QueryOptions {
  rowMode?: 'array' | 'object';
  /** Type parsers by oid; drizzle's keep the text as it is, which is all the database's thread applies. */
  parsers?: Record<number, (value: string) => unknown>;
}

interface Results {
  rows: unknown[];
  fields: Array<{ name: string; dataTypeID: number }>;
  affectedRows?: number;
}

/** The database's error as thrown here: its message and its fields (code, detail, constraint…). */
export class EmbeddedDatabaseError extends Error {
  [field: string]: unknown;
  constructor(fields: Record<string, unknown>) {
    super(String(fields.message ?? 'embedded database error'));
    Object.assign(this, fields);
    this.name = 'EmbeddedDatabaseError';
  }
}

type Pending = { ok: (value: unknown) => void; fail: (err: Error) => void };

/** Queries inside one transaction of the database's thread. */
class ThreadTransaction {
  constructor(
    private readonly thread: PgliteThread,
    private readonly id: number,
  ) {}

  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results & { rows: T[] }> {
    return this.thread.query<T>(sql, params, options, this.id);
  }
}

export class PgliteThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  readonly waitReady: Promise<void>;

  constructor(opts: { dataDir?: string; settings: string[] }) {
    const workerData = { dataDir: opts.dataDir, settings: opts.settings };
    if (import.meta.url.endsWith('.ts')) {
      // From source (tests): the thread registers tsx's loader before it loads the .ts entry.
      const entry = new URL('./pglite-worker.ts', import.meta.url).href;
      const boot = `import('tsx/esm/api').then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry)}))`;
      this.worker = new Worker(boot, { eval: true, workerData });
    } else {
      this.worker = new Worker(new URL('./pglite-worker.js', import.meta.url), { workerData });
    }
    this.waitReady = new Promise<void>((ok, fail) => this.pending.set(0, { ok: () => ok(), fail }));
    this.worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: Record<string, unknown> }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.ok(msg.result);
      else p.fail(new EmbeddedDatabaseError(msg.error ?? {}));
    });
    // The thread died (out of memory in the database, a crash): every waiting query fails with why.
    const failAll = (err: Error) => {
      this.closed = true;
      for (const p of this.pending.values()) p.fail(err);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', (code) => failAll(new Error(`the embedded database's thread exited (code ${code})`)));
  }

  private call(message: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the embedded database is closed'));
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      this.worker.postMessage({ ...message, id });
    });
  }

  query<T>(sql: string, params?: unknown[], options: QueryOptions = {}, tx?: number): Promise<Results & { rows: T[] }> {
    const rawOids = Object.keys(options.parsers ?? {}).map(Number);
    return this.call({ op: 'query', sql, params, rowMode: options.rowMode, rawOids, tx }) as Promise<Results & { rows: T[] }>;
  }

  /** Runs `fn` in a transaction: committed when it returns, rolled back when it throws. */
  async transaction<T>(fn: (tx: ThreadTransaction) => Promise<T>): Promise<T> {
    const id = (await this.call({ op: 'begin' })) as number;
    let result: T;
    try {
      result = await fn(new ThreadTransaction(this, id));
    } catch (err) {
      await this.call({ op: 'end', tx: id, commit: false }).catch(() => undefined);
      throw err;
    }
    await this.call({ op: 'end', tx: id, commit: true });
    return result;
  }

  /**
   * Runs `statements` in one transaction of the database's thread, begun and ended there: committed,
   * or (`commit` false) rolled back once they all ran. A failed statement rolls it back and throws
   * with `statementIndex` naming it.
   */
  async runTransaction(statements: Array<{ sql: string; params: unknown[] }>, opts: { commit: boolean }): Promise<void> {
    await this.call({ op: 'batch', statements, commit: opts.commit });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call({ op: 'close' }).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }
}
