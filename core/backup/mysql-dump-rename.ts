// A mysqldump of one database (`--databases NAME`) names its database in three statements, each on
// a line of its own: `CREATE DATABASE … \`NAME\` …;`, `USE \`NAME\`;` and, around routines whose
// character set differs, `ALTER DATABASE \`NAME\` …`. Restoring it under another name rewrites
// those lines, and only those: the dump is passed through otherwise as it is, line by line, without
// holding more than the start of a line (an INSERT line may be megabytes long). Names inside the
// bodies of views, triggers and routines are not rewritten. A dump that turns out to hold another
// database too (one of every database, taken before the policy named one) is stopped at that
// database's first statement, before anything of it is written anywhere.
import { Transform } from 'node:stream';
import { HoldfastError } from '../errors.js';

/** mysqldump's quoting of a name: in backticks, a backtick doubled. */
const quoted = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/** The statements that name the dumped database are short; a line longer than this is none of them. */
const STATEMENT_MAX = 1024;

/** A name as mysqldump quotes it, read back. */
const NAME = '`((?:[^`]|``)+)`';
const STATEMENTS = [new RegExp(`^(CREATE DATABASE (?:/\\*!32312 IF NOT EXISTS\\*/ |IF NOT EXISTS )?)${NAME}(.*)$`), new RegExp(`^(USE )${NAME}(;)$`), new RegExp(`^(ALTER DATABASE )${NAME}( .*)$`)];

/** The database a line names when it is one of the three statements, and the text around the name. */
function statement(line: string): { before: string; database: string; after: string } | undefined {
  for (const re of STATEMENTS) {
    const m = re.exec(line);
    if (m) return { before: m[1], database: m[2].replace(/``/g, '`'), after: m[3] };
  }
  return undefined;
}

/** The database a line of a dump makes, selects or alters (CREATE DATABASE, USE, ALTER DATABASE); undefined for any other line. */
export function dumpLineDatabase(line: string): string | undefined {
  return statement(line)?.database;
}

/** One line of the dump (without its newline) with `from` renamed to `to`, when it is one of the three statements. */
export function renameDumpLine(line: string, from: string, to: string): string {
  const found = statement(line);
  return found && found.database === from ? `${found.before}${quoted(to)}${found.after}` : line;
}

/** A stream that renames database `from` to `to` in a mysqldump passing through it. */
export function renameDumpDatabase(from: string, to: string): Transform {
  // The start of the current line, while it may still be one of the statements; undefined once the
  // line is known to be something else (its rest then passes straight through).
  let head: Buffer | undefined = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let rest = chunk;
      const out: Buffer[] = [];
      while (rest.length) {
        const newline = rest.indexOf(0x0a);
        const end = newline < 0 ? rest.length : newline + 1;
        const piece = rest.subarray(0, end);
        rest = rest.subarray(end);
        if (head === undefined) out.push(piece);
        else {
          head = Buffer.concat([head, piece]);
          if (newline >= 0) {
            const line = head.subarray(0, -1).toString('utf8');
            const used = dumpLineDatabase(line);
            if (used !== undefined && used !== from) {
              // What was renamed so far still goes out; nothing of the other database does.
              this.push(Buffer.concat(out));
              done(new HoldfastError('Invalid', `the dump holds database "${used}" besides "${from}": a dump of several databases cannot be restored into database "${to}"`));
              return;
            }
            out.push(Buffer.from(`${renameDumpLine(line, from, to)}\n`, 'utf8'));
          } else if (head.length > STATEMENT_MAX) {
            out.push(head);
            head = undefined;
            continue;
          } else continue;
        }
        if (newline >= 0) head = Buffer.alloc(0);
      }
      done(null, Buffer.concat(out));
    },
    flush(done) {
      done(null, head?.length ? Buffer.from(renameDumpLine(head.toString('utf8'), from, to), 'utf8') : undefined);
    },
  });
}
