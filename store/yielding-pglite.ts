// PGlite runs each query synchronously on the calling thread and resolves it through microtasks
// only. A caller that awaits one query after another therefore never lets timers or I/O run: with a
// few controller workers doing so, the API and every SSH session starved for seconds at a time (16 s
// stalls with 1000 Services). This PGlite lets the event loop turn before each query, so at most one
// query's time passes between two I/O callbacks. It costs one setImmediate per query.
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class YieldingPGlite extends PGlite {
  constructor(options?: PGliteOptions) {
    super(options);
  }

  // Every query, in a transaction or not, passes through here (PGlite's query mutex).
  override async _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T> {
    await nextTurn();
    return super._runExclusiveQuery(fn);
  }
}
