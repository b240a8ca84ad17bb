// The embedded database's thread. PGlite runs every query synchronously on the thread that calls
// it; in the server's own thread that stalled the API and every SSH session behind each query (16 s
// with 1000 Services before queries were made to yield). Here it has a thread of its own: the
// server's thread only posts a query and awaits its answer (store/pglite-thread.ts).
//
// Messages in: { id, op: 'query', sql, params, rowMode, rawOids, tx? } | { id, op: 'begin' }
//              | { id, op: 'end', tx, commit } | { id, op: 'batch', statements, commit } | { id, op: 'close' }
// Messages out: { id, ok: true, result } | { id, ok: false, error: { message, ...fields } }
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';

interface Start {
  dataDir?: string;
  settings: string[];
}

type Request =
  | { id: number; op: 'query'; sql: string; params?: unknown[]; rowMode?: 'array' | 'object'; rawOids?: number[]; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'batch'; statements: Array<{ sql: string; params: unknown[] }>; commit: boolean }
  | { id: number; op: 'close' };

const port = parentPort!;
const { dataDir, settings } = workerData as Start;
const db = new PGlite({ dataDir, postgresqlconf: settings } as ConstructorParameters<typeof PGlite>[0]);

/** Open transactions: the handle queries run on, and how to end the transaction. */
const transactions = new Map<number, { tx: Transaction; end: (commit: boolean) => void; done: Promise<void> }>();
let nextTx = 1;

/** An error as it crosses the thread: its message and the fields the store reads (code, detail…). */
function plainError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const fields: Record<string, unknown> = { message: err.message, name: err.name };
  for (const [key, value] of Object.entries(err)) if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  return fields;
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'query': {
      const on = req.tx !== undefined ? transactions.get(req.tx)?.tx : db;
      if (!on) throw new Error(`transaction ${req.tx} is not open`);
      // The callers' type parsers all keep the text as it is (timestamps, intervals, dates): named by oid.
      const parsers = Object.fromEntries((req.rawOids ?? []).map((oid) => [oid, (value: string) => value]));
      const result = await on.query(req.sql, req.params, { rowMode: req.rowMode, parsers });
      return { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows };
    }
    case 'begin': {
      const id = nextTx++;
      let opened!: () => void;
      const ready = new Promise<void>((ok) => (opened = ok));
      let end!: (commit: boolean) => void;
      const ended = new Promise<boolean>((ok) => (end = ok));
      const done = db
        .transaction(async (tx) => {
          transactions.set(id, { tx, end, done });
          opened();
          if (!(await ended)) await tx.rollback();
        })
        .finally(() => transactions.delete(id));
      // A transaction that fails to open (PGlite closed) fails the begin.
      await Promise.race([ready, done]);
      return id;
    }
    case 'end': {
      const open = transactions.get(req.tx);
      if (!open) throw new Error(`transaction ${req.tx} is not open`);
      open.end(req.commit);
      await open.done.catch((err) => {
        // A rollback asked for ends with PGlite's own rollback error: that is the success of it.
        if (req.commit) throw err;
      });
      return null;
    }
    case 'batch': {
      // Statements whose answers nobody reads, in one transaction run here from begin to end: the
      // database's lock is never held while a message crosses between the threads.
      let failedAt = -1;
      try {
        await db.transaction(async (tx) => {
          for (const [i, statement] of req.statements.entries()) {
            failedAt = i;
            await tx.query(statement.sql, statement.params);
          }
          failedAt = -1;
          if (!req.commit) await tx.rollback();
        });
      } catch (err) {
        // A rollback asked for ends with PGlite's own rollback error: that is the success of it.
        if (failedAt < 0 && !req.commit) return null;
        if (err instanceof Error && failedAt >= 0) Object.assign(err, { statementIndex: failedAt });
        throw err;
      }
      return null;
    }
    case 'close':
      await db.close();
      return null;
  }
}

port.on('message', (req: Request) => {
  handle(req).then(
    (result) => port.postMessage({ id: req.id, ok: true, result }),
    (err) => port.postMessage({ id: req.id, ok: false, error: plainError(err) }),
  );
});

db.waitReady.then(
  () => port.postMessage({ id: 0, ok: true, result: 'ready' }),
  (err) => port.postMessage({ id: 0, ok: false, error: plainError(err) }),
);
