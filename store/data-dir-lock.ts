// One process at a time on an embedded database: `<data dir>/serve.lock` is held with flock(2) for as
// long as the store is open. Node has no flock, so util-linux's `flock` takes it on an inherited
// descriptor: the lock belongs to the open file description this process keeps, outlives that short
// child, and the kernel drops it when this process ends, however it ends (a `kill -9` blocks nothing).
// The file holds the pid of its holder, for the message a second server prints, and is removed when
// the holder closes the store.
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HoldfastError } from '../core/errors.js';

export const LOCK_FILE = 'serve.lock';

export interface DataDirLock {
  release(): void;
}

/** Takes the data directory's lock or throws "data directory D is in use by pid N". */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  for (;;) {
    const fd = openSync(file, 'a+', 0o600);
    if (!tryFlock(fd, dataDir)) {
      const pid = readFileSync(fd, 'utf8').trim();
      closeSync(fd);
      throw new HoldfastError('Conflict', `data directory ${dataDir} is in use by ${/^\d+$/.test(pid) ? `pid ${pid}` : 'another process'}: stop it first, or use another --data-dir`);
    }
    // The holder before us removes the file as it lets go: a lock on that removed file guards nothing.
    if (statSync(file, { throwIfNoEntry: false })?.ino !== fstatSync(fd).ino) {
      closeSync(fd);
      continue;
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    let held = true;
    return {
      release() {
        if (!held) return;
        held = false;
        rmSync(file, { force: true });
        closeSync(fd);
      },
    };
  }
}

/** flock(LOCK_EX | LOCK_NB) on `fd`: true when taken, false when another process holds it. */
function tryFlock(fd: number, dataDir: string): boolean {
  const flock = spawnSync('flock', ['--nonblock', '--exclusive', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
  if (!flock.error && (flock.status === 0 || flock.status === 1)) return flock.status === 0;
  closeSync(fd);
  const missing = (flock.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  throw new Error(`could not lock the data directory ${dataDir}: ${missing ? 'the flock command (util-linux) is not installed' : (flock.error?.message ?? flock.stderr.trim())}`);
}
