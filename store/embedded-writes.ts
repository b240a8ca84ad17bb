// How the resource store writes on the embedded database. PGlite runs one statement at a time and
// holds its lock for a whole transaction; an interactive transaction (read the rows, then write them,
// each a message between the server's thread and the database's) kept every other query waiting for
// as long as those messages took to cross a busy event loop: half of a 50-Service cold converge.
//
// So here a write reads what it needs first, outside any transaction, then records its statements
// without running them and sends them all at once, to run in one transaction begun and ended in the
// database's thread (PgliteThread.runTransaction). Between the read and the commit no other write of
// resources may run: this process is the embedded database's only writer, and its resource writes
// take turns on the lock below, one per database.
import { drizzle } from 'drizzle-orm/pg-proxy';
import type { Db } from './database.js';
import * as schema from './schema.js';

export interface Statement {
  sql: string;
  params: unknown[];
}

interface TransactionRunner {
  runTransaction(statements: Statement[], opts: { commit: boolean }): Promise<void>;
}

/** A failed statement of a recorded transaction: which one (its index in the order recorded). */
export function failedStatement(err: unknown): number | undefined {
  const index = (err as { statementIndex?: unknown } | null)?.statementIndex;
  return typeof index === 'number' ? index : undefined;
}

export class EmbeddedWrites {
  private static readonly byClient = new WeakMap<object, EmbeddedWrites>();

  /** The writer of `db` when it is the embedded database (shared by every store on it); else undefined. */
  static of(db: Db): EmbeddedWrites | undefined {
    const client = (db as unknown as { $client?: Partial<TransactionRunner> }).$client;
    if (!client || typeof client.runTransaction !== 'function') return undefined;
    let writes = EmbeddedWrites.byClient.get(client);
    if (!writes) {
      writes = new EmbeddedWrites(client as TransactionRunner);
      EmbeddedWrites.byClient.set(client, writes);
    }
    return writes;
  }

  private turn: Promise<unknown> = Promise.resolve();
  private recording: Statement[] | undefined;
  /** Builds statements as the store's own drizzle does, and records them instead of running them. */
  readonly recorder: Db;

  private constructor(private readonly runner: TransactionRunner) {
    this.recorder = drizzle(
      async (sql, params) => {
        if (!this.recording) throw new Error('a statement was built outside a recorded transaction');
        this.recording.push({ sql, params });
        return { rows: [] };
      },
      { schema },
    ) as unknown as Db;
  }

  /** Runs `fn` when no other resource write of this database is under way. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * The statements `fn` makes through the recorder (only inside `exclusive`: one recording at a time).
   * `fn` sees no answers: its statements must be writes whose results it does not read.
   */
  async record<T>(fn: (tx: Db, recorded: readonly Statement[]) => Promise<T>): Promise<{ result: T; statements: Statement[] }> {
    const statements: Statement[] = [];
    this.recording = statements;
    try {
      return { result: await fn(this.recorder, statements), statements };
    } finally {
      this.recording = undefined;
    }
  }

  /** Runs recorded statements in one transaction in the database's thread. */
  run(statements: Statement[], opts: { commit: boolean }): Promise<void> {
    return this.runner.runTransaction(statements, opts);
  }
}
