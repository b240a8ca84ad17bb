// The commands a database backup runs inside the Service's own container (through Docker exec),
// built as argv for each engine: the user and database names are positional arguments of a fixed
// script, never part of its text. The password reaches the tool only through the exec's
// environment (PGPASSWORD, MYSQL_PWD), never through argv, so `ps` on the host cannot show it;
// without a Secret the container's own password is used, as the postgres, mariadb and mysql images
// set it (POSTGRES_PASSWORD; MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD for root, MARIADB_PASSWORD
// or MYSQL_PASSWORD for the image's own user, or the files their _FILE variants name).
import type { BackupFormat } from './naming.js';

export interface DatabaseTarget {
  type: 'postgres' | 'mysql';
  /** One database; every database when omitted. */
  name?: string;
  user?: string;
}

/** What runs where for one engine; every argv reads a dump on stdin or writes one to stdout. */
export interface DatabaseCommands {
  /** The file format of a dump. */
  format: BackupFormat;
  /** The dump tool, for messages. */
  dumpTool: string;
  dump: string[];
  /** The restore tool for a dump of `format`, for messages. */
  restoreTool: (format: BackupFormat) => string;
  /**
   * Reads a dump into the database (a custom-format dump into `database`, by default the dumped
   * one; a plain SQL dump selects its own): objects in the dump are dropped and made again; objects
   * made since stay. A plain SQL dump stops at its first error.
   */
  restore: (format: BackupFormat, database?: string) => string[];
  /** The engine, for messages: `PostgreSQL`. */
  engine: string;
  /**
   * Exits TARGET_NOT_THIS_ENGINE when the container has not the engine's tools, fails when the
   * server does not let `user` in, and prints `exists` or `absent` for `database` when one is given.
   */
  checkTarget: (database?: string) => string[];
  /** Makes an empty `database` for a restore; undefined when the dump makes its own (a mysqldump's CREATE DATABASE). */
  createDatabase: (database: string) => string[] | undefined;
  /** The environment entry that hands a password to the engine's tools. */
  passwordEnv: (password: string) => string;
  /** A scratch server made from the Service's image for a restore test: its environment and the user that checks it. */
  scratch: (password: string) => { env: string[]; user: string };
  /** Exits 0 once the (scratch) server accepts connections as `user`. */
  ready: (user: string) => string[];
  /** Makes the dumped database(s) anew in a scratch server. */
  restoreIntoScratch: (user: string, format: BackupFormat) => string[];
  /** Prints the number of rows of `table` (of `database` unless the name says its own). */
  countRows: (user: string, table: string) => string[];
  /** Reads a copy of the dump and fails unless it is whole, when the engine has a way to tell; `says` is the success. */
  checkDump: (format: BackupFormat) => { argv: string[]; tool: string; says: string } | undefined;
}

/** checkTarget's exit status when the container has not the engine's tools (EX_UNAVAILABLE: no tool exits with it). */
export const TARGET_NOT_THIS_ENGINE = 69;

/**
 * A database a restore may be sent into by name: letters, digits, `_` and `-`, not starting with
 * `-`, at most 63 characters (PostgreSQL's limit; MySQL's is 64).
 */
export const DATABASE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;

/** A table name a restore check may count: `orders`, or `public.orders` / `shop.orders`. */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

const DEFAULT_USER = { postgres: 'postgres', mysql: 'root' } as const;

const databaseUser = (target: DatabaseTarget): string => target.user ?? DEFAULT_USER[target.type];

export function databaseCommands(target: DatabaseTarget): DatabaseCommands {
  return target.type === 'mysql' ? mysqlCommands(target) : postgresCommands(target);
}

function quotedTable(table: string, quote: string): string {
  if (!TABLE_NAME.test(table)) throw new Error(`not a table name: ${JSON.stringify(table)}`);
  return table
    .split('.')
    .map((part) => `${quote}${part}${quote}`)
    .join('.');
}

/** checkTarget's last line: `$names` (one database a line) holds `$2` or not, when `$2` is given. */
const LISTED = 'if [ -z "${2:-}" ]; then exit 0; elif printf \'%s\\n\' "$names" | grep -qxF -- "$2"; then echo exists; else echo absent; fi';

const PG_PASSWORD = 'export PGPASSWORD="${PGPASSWORD:-${POSTGRES_PASSWORD:-}}"; ';

/** pg_dump's custom format for one database (pg_restore reads it); pg_dumpall's plain SQL for all of them. */
function postgresCommands(target: DatabaseTarget): DatabaseCommands {
  const user = databaseUser(target);
  const database = target.name;
  const psql = (script: string, name: string, ...args: string[]) => ['sh', '-c', `${PG_PASSWORD}${script}`, name, ...args];
  return {
    format: database ? 'pgdump' : 'sql',
    dumpTool: database ? 'pg_dump' : 'pg_dumpall',
    dump: database
      ? psql('exec pg_dump --format=custom --username="$1" --dbname="$2"', 'holdfast-backup-dump', user, database)
      : psql('exec pg_dumpall --clean --if-exists --username="$1"', 'holdfast-backup-dump', user),
    restoreTool: (format) => (format === 'pgdump' ? 'pg_restore' : 'psql'),
    restore: (format, into = database) =>
      format === 'pgdump'
        ? psql('exec pg_restore --clean --if-exists --exit-on-error --username="$1" --dbname="$2"', 'holdfast-backup-restore', user, into ?? user)
        : psql('exec psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username="$1" --dbname=postgres --file=-', 'holdfast-backup-restore', user),
    engine: 'PostgreSQL',
    checkTarget: (into) =>
      psql(
        [
          `command -v pg_restore >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || { echo "pg_restore and psql are not in this container" >&2; exit ${TARGET_NOT_THIS_ENGINE}; }`,
          'names=$(psql --no-psqlrc --username="$1" --dbname=postgres --tuples-only --no-align --command="select datname from pg_database") || exit',
          LISTED,
        ].join('\n'),
        'holdfast-backup-restore-target',
        user,
        ...(into === undefined ? [] : [into]),
      ),
    // psql quotes :"db" as an identifier; the name never enters the statement's text.
    createDatabase: (into) =>
      psql('printf \'%s\\n\' \'CREATE DATABASE :"db" TEMPLATE template0\' | exec psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username="$1" --dbname=postgres --set=db="$2"', 'holdfast-backup-create-database', user, into),
    passwordEnv: (password) => `PGPASSWORD=${password}`,
    scratch: (password) => ({ env: [`POSTGRES_USER=${user}`, `POSTGRES_PASSWORD=${password}`], user }),
    ready: (as) => psql('exec psql --no-psqlrc --username="$1" --dbname=postgres --tuples-only --command="select 1"', 'holdfast-backup-ready', as),
    restoreIntoScratch: (as, format) =>
      format === 'pgdump'
        ? psql('exec pg_restore --create --exit-on-error --username="$1" --dbname=postgres', 'holdfast-backup-restore-test', as)
        : psql('exec psql --no-psqlrc --quiet --username="$1" --dbname=postgres --file=-', 'holdfast-backup-restore-test', as),
    countRows: (as, table) =>
      psql('exec psql --no-psqlrc --username="$1" --dbname="$2" --tuples-only --no-align --command="select count(*) from $3"', 'holdfast-backup-count', as, database ?? as, quotedTable(table, '"')),
    checkDump: (format) => (format === 'pgdump' ? { argv: ['pg_restore', '--list'], tool: 'pg_restore --list', says: 'pg_restore lists the dump' } : undefined),
  };
}

// The password for user $1 when MYSQL_PWD is not given: the image's root or user password, or the file its _FILE variant names.
const MYSQL_PASSWORD = [
  'pw() { for v; do eval "p=\\${$v:-}"; if [ -n "$p" ]; then printf %s "$p"; return; fi; eval "f=\\${${v}_FILE:-}"; if [ -n "$f" ] && [ -r "$f" ]; then cat "$f"; return; fi; done; }',
  'if [ -z "${MYSQL_PWD:-}" ]; then if [ "$1" = root ]; then MYSQL_PWD=$(pw MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD); else MYSQL_PWD=$(pw MARIADB_PASSWORD MYSQL_PASSWORD); fi; fi',
  'if [ -n "$MYSQL_PWD" ]; then export MYSQL_PWD; else unset MYSQL_PWD; fi',
  // MariaDB 11 ships its tools under their own names only; MySQL has only the old ones.
  'if command -v mariadb >/dev/null 2>&1; then client=mariadb; dump=mariadb-dump; else client=mysql; dump=mysqldump; fi',
].join('; ');
/** Reaches the scratch server over TCP: an image's entrypoint may run a socket-only server while it initialises. */
const TCP = '--protocol=tcp --host=127.0.0.1';

/** mysqldump's plain SQL, one consistent InnoDB snapshot (--single-transaction), with CREATE DATABASE and USE for each database. */
function mysqlCommands(target: DatabaseTarget): DatabaseCommands {
  const user = databaseUser(target);
  const database = target.name;
  const sh = (script: string, name: string, ...args: string[]) => ['sh', '-c', `${MYSQL_PASSWORD}; ${script}`, name, ...args];
  const dumpOptions = '--single-transaction --routines --events --triggers --hex-blob --user="$1"';
  return {
    format: 'sql',
    dumpTool: 'mysqldump',
    dump: database
      ? sh(`exec "$dump" ${dumpOptions} --databases "$2"`, 'holdfast-backup-dump', user, database)
      : sh(`exec "$dump" ${dumpOptions} --all-databases`, 'holdfast-backup-dump', user),
    restoreTool: () => 'mysql',
    // The dump's own USE selects the database (renamed on the way when restored under another name).
    restore: () => sh('exec "$client" --user="$1" --batch', 'holdfast-backup-restore', user),
    engine: 'MySQL or MariaDB',
    checkTarget: (into) =>
      sh(
        [
          `command -v "$client" >/dev/null 2>&1 || { echo "neither mariadb nor mysql is in this container" >&2; exit ${TARGET_NOT_THIS_ENGINE}; }`,
          'names=$("$client" --user="$1" --batch --skip-column-names --execute="show databases") || exit',
          LISTED,
        ].join('\n'),
        'holdfast-backup-restore-target',
        user,
        ...(into === undefined ? [] : [into]),
      ),
    // A dump of one database carries CREATE DATABASE IF NOT EXISTS, with the database's character set.
    createDatabase: () => undefined,
    passwordEnv: (password) => `MYSQL_PWD=${password}`,
    scratch: (password) => ({ env: [`MARIADB_ROOT_PASSWORD=${password}`, `MYSQL_ROOT_PASSWORD=${password}`], user: 'root' }),
    ready: (as) => sh(`exec "$client" ${TCP} --user="$1" --batch --execute="select 1"`, 'holdfast-backup-ready', as),
    restoreIntoScratch: (as) => sh(`exec "$client" ${TCP} --user="$1" --batch`, 'holdfast-backup-restore-test', as),
    countRows: (as, table) => {
      const qualified = table.includes('.') || !database ? quotedTable(table, '`') : `\`${database.replace(/`/g, '``')}\`.${quotedTable(table, '`')}`;
      return sh(`exec "$client" ${TCP} --user="$1" --batch --skip-column-names --execute="select count(*) from $2"`, 'holdfast-backup-count', as, qualified);
    },
    // mysqldump writes this line last, once every table is dumped.
    checkDump: () => ({ argv: ['sh', '-c', 'tail -n 1 | grep -q "^-- Dump completed"'], tool: 'the dump\'s last line', says: 'the dump ends with mysqldump\'s "Dump completed" line' }),
  };
}
