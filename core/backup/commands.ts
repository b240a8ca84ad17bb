// The shell commands backups run on the destination server, built as argv: user values (paths,
// names) are positional arguments of a fixed script, never part of the script text. The runner
// quotes every argument for the remote shell.

/** Streams stdin into `file` (under `directory`, created when missing); the name appears only when complete. */
export function writeBackupArgv(directory: string, file: string): string[] {
  return ['sh', '-c', 'mkdir -p -- "$1" && cat > "$2.partial" && mv -f -- "$2.partial" "$2"', 'holdfast-backup-write', directory, file];
}

/** Removes a partial file a failed write left. */
export function removePartialArgv(file: string): string[] {
  return ['rm', '-f', '--', `${file}.partial`];
}

/** Prints `<sha256>  <file>` and lists the archive (to /dev/null): fails unless the file is a readable tar. */
export function verifyBackupArgv(file: string): string[] {
  return ['sh', '-c', 'sha256sum -- "$1" && tar -tf "$1" > /dev/null', 'holdfast-backup-verify', file];
}

/** Prints the file's SHA-256 (first word). */
export function checksumArgv(file: string): string[] {
  return ['sha256sum', '--', file];
}

/** Lists the names in the destination directory (nothing when it does not exist yet). */
export function listBackupsArgv(directory: string): string[] {
  return ['sh', '-c', 'if [ -d "$1" ]; then ls -1A -- "$1"; fi', 'holdfast-backup-list', directory];
}

/** Streams `file` to stdout. */
export function readBackupArgv(file: string): string[] {
  return ['cat', '--', file];
}

export function removeBackupsArgv(files: readonly string[]): string[] {
  return ['rm', '-f', '--', ...files];
}

/** The first word of `sha256sum` output, when it is a SHA-256. */
export function parseSha256(stdout: string): string | undefined {
  const word = stdout.trim().split(/\s+/)[0] ?? '';
  return /^[0-9a-f]{64}$/.test(word) ? word : undefined;
}

export type WriteFailureReason = 'DiskFull' | 'DestinationUnwritable' | 'BackupFailed';

/** Why a write on the destination failed, from the shell's complaint. */
export function classifyWriteFailure(stderr: string): WriteFailureReason {
  if (/no space left on device|disk quota exceeded|file too large/i.test(stderr)) return 'DiskFull';
  if (/permission denied|read-only file system|cannot create|can't create|not a directory|operation not permitted/i.test(stderr)) return 'DestinationUnwritable';
  return 'BackupFailed';
}
