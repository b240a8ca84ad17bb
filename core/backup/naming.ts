// Backup files are named after their policy and the UTC time they were taken, e.g.
// `web-data-20261126T130512Z.tar`: names sort by time, and the time reads back from the name.
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `20261126T130512Z`. */
export function backupStamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function backupName(policy: string, time: Date): string {
  return `${policy}-${backupStamp(time)}.tar`;
}

/** The time a backup of `policy` was taken, from its file name; undefined when the name is not one of the policy's backups. */
export function backupTime(policy: string, name: string): Date | undefined {
  const prefix = `${policy}-`;
  if (!name.startsWith(prefix) || !name.endsWith('.tar')) return undefined;
  const m = STAMP.exec(name.slice(prefix.length, -'.tar'.length));
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const time = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Rejects 20261340T…: the parts must round-trip.
  return backupStamp(time) === name.slice(prefix.length, -'.tar'.length) ? time : undefined;
}

/** Joins a destination directory and a backup name (the name never holds a slash). */
export function backupFile(directory: string, name: string): string {
  return `${directory.replace(/\/+$/, '') || ''}/${name}`;
}
