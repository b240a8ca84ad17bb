// A mysqldump of one database (`--databases NAME`) names its database in three statements, each on
// a line of its own: `CREATE DATABASE … \`NAME\` …;`, `USE \`NAME\`;` and, around routines whose
// character set differs, `ALTER DATABASE \`NAME\` …`. Restoring it under another name rewrites
// those lines, and only those: the dump is passed through otherwise as it is, line by line, without
// holding more than the start of a line (an INSERT line may be megabytes long). Names inside the
// bodies of views, triggers and routines are not rewritten.
import { Transform } from 'node:stream';

/** mysqldump's quoting of a name: in backticks, a backtick doubled. */
const quoted = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/** The statements that name the dumped database are short; a line longer than this is none of them. */
const STATEMENT_MAX = 1024;

/** One line of the dump (without its newline) with `from` renamed to `to`, when it is one of the three statements. */
export function renameDumpLine(line: string, from: string, to: string): string {
  const was = quoted(from);
  const now = quoted(to);
  const create = /^CREATE DATABASE (\/\*!32312 IF NOT EXISTS\*\/ |IF NOT EXISTS )?/.exec(line);
  if (create && line.startsWith(was, create[0].length)) return `${create[0]}${now}${line.slice(create[0].length + was.length)}`;
  if (line === `USE ${was};`) return `USE ${now};`;
  if (line.startsWith(`ALTER DATABASE ${was} `)) return `ALTER DATABASE ${now} ${line.slice(`ALTER DATABASE ${was} `.length)}`;
  return line;
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
