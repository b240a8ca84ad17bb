// Backup files are named after their policy and the UTC time they were taken, e.g.
// `web-data-20261126T130512Z.tar`: names sort by time, and the time, the format and whether the file
// is encrypted read back from the name. Formats: `.tar` (a volume), `.pgdump` (pg_dump's custom
// format, one database), `.sql` (a plain SQL dump: pg_dumpall or mysqldump); `.age` follows when
// the file is encrypted.
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const ENCRYPTED = '.age';

export type BackupFormat = 'tar' | 'pgdump' | 'sql';
const FORMATS: readonly BackupFormat[] = ['tar', 'pgdump', 'sql'];

/** `20261126T130512Z`. */
export function backupStamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function backupName(policy: string, time: Date, encrypted = false, format: BackupFormat = 'tar'): string {
  return `${policy}-${backupStamp(time)}.${format}${encrypted ? ENCRYPTED : ''}`;
}

/** Whether a backup's file is age-encrypted (by its name). */
export function isEncryptedBackup(name: string): boolean {
  return name.endsWith(ENCRYPTED);
}

/** The format of a backup's file (by its name); undefined for a name no backup has. */
export function backupFormat(name: string): BackupFormat | undefined {
  const plain = isEncryptedBackup(name) ? name.slice(0, -ENCRYPTED.length) : name;
  return FORMATS.find((f) => plain.endsWith(`.${f}`));
}

/** The time a backup of `policy` was taken, from its file name; undefined when the name is not one of the policy's backups. */
export function backupTime(policy: string, name: string): Date | undefined {
  const prefix = `${policy}-`;
  const format = backupFormat(name);
  if (!format || !name.startsWith(prefix)) return undefined;
  const suffix = `.${format}${isEncryptedBackup(name) ? ENCRYPTED : ''}`;
  const stamp = name.slice(prefix.length, -suffix.length);
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const time = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Rejects 20261340T…: the parts must round-trip.
  return backupStamp(time) === stamp ? time : undefined;
}

/** Joins a destination directory and a backup name (the name never holds a slash). */
export function backupFile(directory: string, name: string): string {
  return `${directory.replace(/\/+$/, '') || ''}/${name}`;
}
