// Restoring a mysqldump of one database under another name: only the lines that name the dumped
// database (CREATE DATABASE, USE, ALTER DATABASE) are rewritten, however the stream is cut.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { dumpLineDatabase, renameDumpDatabase, renameDumpLine } from '../../../core/backup/mysql-dump-rename.js';

const collect = async (chunks: Buffer[], from: string, to: string) => {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(renameDumpDatabase(from, to))) out.push(chunk as Buffer);
  return Buffer.concat(out).toString('utf8');
};

describe('renameDumpLine', () => {
  const cases: Array<[string, string, string]> = [
    ['mysqldump 10.x', 'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;', 'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop_copy` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;'],
    ['without the version comment', 'CREATE DATABASE IF NOT EXISTS `shop`;', 'CREATE DATABASE IF NOT EXISTS `shop_copy`;'],
    ['USE', 'USE `shop`;', 'USE `shop_copy`;'],
    ['ALTER DATABASE around routines', 'ALTER DATABASE `shop` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;', 'ALTER DATABASE `shop_copy` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;'],
    ['another database', 'USE `shopping`;', 'USE `shopping`;'],
    ['a longer name that starts the same', 'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop2` ;', 'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop2` ;'],
    ['data that mentions it', "INSERT INTO `t` VALUES (1,'USE `shop`;');", "INSERT INTO `t` VALUES (1,'USE `shop`;');"],
    ['a comment', '-- Current Database: `shop`', '-- Current Database: `shop`'],
  ];
  for (const [what, line, expected] of cases) it(what, () => assert.equal(renameDumpLine(line, 'shop', 'shop_copy'), expected));

  it('quotes names as mysqldump does', () => assert.equal(renameDumpLine('USE `od``d`;', 'od`d', 'new'), 'USE `new`;'));
});

describe('renameDumpDatabase', () => {
  const dump = ['-- MariaDB dump', 'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;', '', 'USE `shop`;', `INSERT INTO \`orders\` VALUES ${'(1,\'tea\'),'.repeat(500)}(2,'USE \`shop\`;');`, '-- Dump completed on 2026-12-05', ''].join('\n');
  const renamed = dump.replace('`shop` /*!40100', '`shop_copy` /*!40100').replace('\nUSE `shop`;', '\nUSE `shop_copy`;');

  it('rewrites the statements and passes the rest byte for byte', async () => {
    assert.equal(await collect([Buffer.from(dump)], 'shop', 'shop_copy'), renamed);
  });

  it('gives the same result however the stream is cut', async () => {
    const bytes = Buffer.from(dump);
    for (const size of [1, 7, 100, 1023, 1025, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      assert.equal(await collect(chunks, 'shop', 'shop_copy'), renamed, `chunks of ${size}`);
    }
  });

  it('keeps a last line without a newline', async () => {
    assert.equal(await collect([Buffer.from('USE `shop`;')], 'shop', 'x'), 'USE `x`;');
  });

  it('leaves a statement-like line alone once it is longer than any statement it rewrites', async () => {
    const long = `USE \`shop\`;${' '.repeat(2000)}`;
    assert.equal(await collect([Buffer.from(`${long}\n`)], 'shop', 'x'), `${long}\n`);
  });

  it('stops a dump that holds another database at its first statement, after what came before', async () => {
    const several = 'USE `shop`;\nINSERT INTO `a` VALUES (1);\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `mysql`;\nUSE `mysql`;\nINSERT INTO `user` VALUES (1);\n';
    const out: Buffer[] = [];
    await assert.rejects(
      async () => {
        for await (const chunk of Readable.from([Buffer.from(several)]).pipe(renameDumpDatabase('shop', 'shop_copy'))) out.push(chunk as Buffer);
      },
      /the dump holds database "mysql" besides "shop": a dump of several databases cannot be restored into database "shop_copy"/,
    );
    assert.doesNotMatch(Buffer.concat(out).toString(), /mysql|`user`/);
  });
});

describe('dumpLineDatabase', () => {
  const cases: Array<[string, string | undefined]> = [
    ['USE `shop`;', 'shop'],
    ['USE `od``d`;', 'od`d'],
    ['CREATE DATABASE /*!32312 IF NOT EXISTS*/ `mysql` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;', 'mysql'],
    ['ALTER DATABASE `shop` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;', 'shop'],
    ['CREATE TABLE `shop` (', undefined],
    ['USE shop;', undefined],
    ['-- USE `shop`;', undefined],
    ["INSERT INTO `t` VALUES ('USE `x`;');", undefined],
  ];
  for (const [line, db] of cases) it(JSON.stringify(line), () => assert.equal(dumpLineDatabase(line), db));
});
