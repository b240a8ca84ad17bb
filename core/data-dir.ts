// Where `holdfast serve` keeps its embedded database, keys and admin token, and where the CLI looks
// for that token: HOLDFAST_DATA_DIR (an empty value counts as unset), else ~/.holdfast.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(env: Record<string, string | undefined> = process.env): string {
  return env.HOLDFAST_DATA_DIR || join(homedir(), '.holdfast');
}
