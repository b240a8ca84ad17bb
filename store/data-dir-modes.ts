// The data directory holds the database, the encryption key and the admin token: only its owner may
// read or write any of it. PGlite gives the files it creates mode 0666 whatever the umask, and a
// directory made beforehand (`mkdir -m 755`) keeps its mode, so every start takes the group and
// world bits off everything under it. What cannot be changed (another user's file) stops the start
// with the command that fixes it.
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const GROUP_AND_WORLD = 0o077;

/** Removes group and world permissions under `dataDir`; returns how many entries it changed. */
export function restrictDataDirModes(dataDir: string): number {
  let changed = 0;
  const visit = (path: string) => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    // Gone meanwhile (the database removes temporary files), or a link whose target is not ours to change.
    if (!stat || stat.isSymbolicLink()) return;
    if (stat.mode & GROUP_AND_WORLD) {
      try {
        chmodSync(path, stat.mode & 0o7700);
      } catch (err) {
        throw new Error(
          `${path} is readable or writable by other users and could not be changed (${(err as NodeJS.ErrnoException).code}): ` +
            `run \`chmod -R go-rwx ${dataDir}\` as its owner, then start again`,
        );
      }
      changed++;
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dataDir);
  return changed;
}
