// The shell commands backups run on the destination server, built as argv: user values (paths,
// names) are positional arguments of a fixed script, never part of the script text. The runner
// quotes every argument for the remote shell.

/**
 * Streams stdin into `file`.partial (under `directory`, created when missing). The file gets its
 * name only from commitBackupArgv, once the control plane has seen the whole stream: a stream cut
 * short (the control plane killed mid-way also ends stdin, normally) leaves only the .partial file.
 */
export function writeBackupArgv(directory: string, file: string): string[] {
  return ['sh', '-c', 'mkdir -p -- "$1" && cat > "$2.partial"', 'holdfast-backup-write', directory, file];
}

/** Gives a completely written `file`.partial its name. */
export function commitBackupArgv(file: string): string[] {
  return ['mv', '-f', '--', `${file}.partial`, file];
}

/** Removes the .partial files of `policy`'s backups in `directory` that an interrupted run left. */
export function removeStalePartialsArgv(directory: string, policy: string): string[] {
  return ['sh', '-c', 'rm -f -- "$1/$2"-*.partial', 'holdfast-backup-clean', directory.replace(/\/+$/, '') || '', policy];
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
