// The commands database backups run in a container, per engine: names reach the fixed scripts as
// positional arguments, passwords only through the environment, and the shape of each tool's call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATABASE_NAME, databaseCommands, TARGET_NOT_THIS_ENGINE, type DatabaseTarget } from '../../../core/backup/database-commands.js';

/** The fixed script, and the arguments after $0. */
const split = (argv: string[]) => ({ script: argv[2], args: argv.slice(4) });

describe('databaseCommands', () => {
  const dumps: Array<[string, DatabaseTarget, { format: string; tool: string; script: RegExp; args: string[] }]> = [
    ['pg_dump of one database', { type: 'postgres', name: 'shop' }, { format: 'pgdump', tool: 'pg_dump', script: /exec pg_dump --format=custom --username="\$1" --dbname="\$2"$/, args: ['postgres', 'shop'] }],
    ['pg_dumpall of every database', { type: 'postgres', user: 'app' }, { format: 'sql', tool: 'pg_dumpall', script: /exec pg_dumpall --clean --if-exists --username="\$1"$/, args: ['app'] }],
    ['mysqldump of one database', { type: 'mysql', name: 'shop' }, { format: 'sql', tool: 'mysqldump', script: /exec "\$dump" --single-transaction .*--user="\$1" --databases "\$2"$/, args: ['root', 'shop'] }],
    ['mysqldump of every database', { type: 'mysql', user: 'backup' }, { format: 'sql', tool: 'mysqldump', script: /exec "\$dump" --single-transaction .*--user="\$1" --all-databases$/, args: ['backup'] }],
  ];
  for (const [what, target, expected] of dumps) {
    it(`dumps: ${what}`, () => {
      const commands = databaseCommands(target);
      assert.equal(commands.format, expected.format);
      assert.equal(commands.dumpTool, expected.tool);
      const { script, args } = split(commands.dump);
      assert.match(script, expected.script);
      assert.deepEqual(args, expected.args);
    });
  }

  it('keeps names out of the script text, however they are spelled', () => {
    const name = 'shop"; rm -rf / #';
    for (const type of ['postgres', 'mysql'] as const) {
      const commands = databaseCommands({ type, name, user: '$(id)' });
      for (const argv of [commands.dump, commands.restore(commands.format), commands.ready('$(id)'), commands.restoreIntoScratch('$(id)', commands.format)]) {
        assert.doesNotMatch(argv[2], /rm -rf|\$\(id\)/, `${type}: ${argv[2]}`);
      }
      assert.ok(commands.dump.includes(name), type);
    }
  });

  it('hands passwords to the tools through the environment only', () => {
    assert.equal(databaseCommands({ type: 'postgres' }).passwordEnv('s3cret'), 'PGPASSWORD=s3cret');
    assert.equal(databaseCommands({ type: 'mysql' }).passwordEnv('s3cret'), 'MYSQL_PWD=s3cret');
    const mysql = databaseCommands({ type: 'mysql', name: 'shop' });
    // Without a Secret: the image's root password for root, its user's password for another user, or their _FILE variants.
    assert.match(mysql.dump[2], /if \[ "\$1" = root \]; then MYSQL_PWD=\$\(pw MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD\); else MYSQL_PWD=\$\(pw MARIADB_PASSWORD MYSQL_PASSWORD\)/);
    assert.match(mysql.dump[2], /\$\{\$\{v\}_FILE:-\}/);
    assert.match(databaseCommands({ type: 'postgres', name: 'shop' }).dump[2], /PGPASSWORD="\$\{PGPASSWORD:-\$\{POSTGRES_PASSWORD:-\}\}"/);
    for (const type of ['postgres', 'mysql'] as const) {
      const { env } = databaseCommands({ type }).scratch('p4ss');
      assert.ok(env.some((e) => e.endsWith('=p4ss')));
    }
  });

  it('restores with the engine\'s own tool', () => {
    const pg = databaseCommands({ type: 'postgres', name: 'shop' });
    assert.equal(pg.restoreTool('pgdump'), 'pg_restore');
    assert.match(pg.restore('pgdump')[2], /pg_restore --clean --if-exists --exit-on-error/);
    assert.equal(pg.restoreTool('sql'), 'psql');
    const mysql = databaseCommands({ type: 'mysql', name: 'shop' });
    assert.equal(mysql.restoreTool('sql'), 'mysql');
    assert.match(mysql.restore('sql')[2], /exec "\$client" --user="\$1" --batch$/);
    // A scratch server is reached over TCP: an image may run a socket-only server while it initialises.
    assert.match(mysql.ready('root')[2], /--protocol=tcp --host=127\.0\.0\.1/);
    assert.match(mysql.restoreIntoScratch('root', 'sql')[2], /--protocol=tcp --host=127\.0\.0\.1/);
  });

  const counts: Array<[DatabaseTarget, string, string]> = [
    [{ type: 'postgres', name: 'shop' }, 'public.orders', '"public"."orders"'],
    [{ type: 'postgres', name: 'shop' }, 'orders', '"orders"'],
    [{ type: 'mysql', name: 'shop' }, 'orders', '`shop`.`orders`'],
    [{ type: 'mysql', name: 'odd`name' }, 'orders', '`odd``name`.`orders`'],
    [{ type: 'mysql', name: 'shop' }, 'other.orders', '`other`.`orders`'],
    [{ type: 'mysql' }, 'shop.orders', '`shop`.`orders`'],
  ];
  for (const [target, table, quoted] of counts) {
    it(`counts ${table} of ${target.type} ${target.name ?? 'every database'} as ${quoted}`, () => {
      assert.equal(databaseCommands(target).countRows('root', table).at(-1), quoted);
    });
  }

  it('refuses a table name that is not one', () => {
    for (const type of ['postgres', 'mysql'] as const) {
      assert.throws(() => databaseCommands({ type, name: 'shop' }).countRows('root', 'orders; drop table x'), /not a table name/);
    }
  });

  it('reads a dump back by the engine\'s own means', () => {
    assert.deepEqual(databaseCommands({ type: 'postgres', name: 'shop' }).checkDump('pgdump')?.argv, ['pg_restore', '--list']);
    assert.equal(databaseCommands({ type: 'postgres' }).checkDump('sql'), undefined);
    assert.match(databaseCommands({ type: 'mysql' }).checkDump('sql')!.argv[2], /tail -n 1 \| grep -q "\^-- Dump completed"/);
  });

  const intoOther: Array<[string, DatabaseTarget, string | undefined, string[]]> = [
    ['pg_restore into the dumped database', { type: 'postgres', name: 'shop' }, undefined, ['postgres', 'shop']],
    ['pg_restore into another database', { type: 'postgres', name: 'shop' }, 'shop_copy', ['postgres', 'shop_copy']],
    ['pg_restore as another user', { type: 'postgres', name: 'shop', user: 'app' }, 'shop_copy', ['app', 'shop_copy']],
  ];
  for (const [what, target, into, args] of intoOther) {
    it(`restores: ${what}`, () => {
      const { script, args: got } = split(databaseCommands(target).restore('pgdump', into));
      assert.match(script, /exec pg_restore --clean --if-exists --exit-on-error --username="\$1" --dbname="\$2"$/);
      assert.deepEqual(got, args);
    });
  }

  it('a plain SQL dump chooses its own databases: the restore names none', () => {
    assert.deepEqual(split(databaseCommands({ type: 'postgres' }).restore('sql', 'ignored')).args, ['postgres']);
    assert.deepEqual(split(databaseCommands({ type: 'mysql', name: 'shop' }).restore('sql', 'shop_copy')).args, ['root']);
  });

  const checks: Array<[DatabaseTarget, string | undefined, RegExp, string[]]> = [
    [{ type: 'postgres', name: 'shop' }, 'shop_copy', /command -v pg_restore .*exit 69;[\s\S]*select datname from pg_database/, ['postgres', 'shop_copy']],
    [{ type: 'postgres' }, undefined, /command -v pg_restore/, ['postgres']],
    [{ type: 'mysql', name: 'shop' }, 'shop_copy', /command -v "\$client" .*exit 69;[\s\S]*--execute="show databases"/, ['root', 'shop_copy']],
  ];
  for (const [target, into, script, args] of checks) {
    it(`checks the ${target.type} target ${into ?? '(every database)'} before a restore`, () => {
      const argv = databaseCommands(target).checkTarget(into);
      assert.match(argv[2], script);
      // The name is matched as a whole line of the listing, as a fixed string: never a pattern, never SQL.
      assert.match(argv[2], /grep -qxF -- "\$2"; then echo exists; else echo absent; fi$/);
      assert.deepEqual(argv.slice(4), args);
    });
  }
  it('says "not this engine" with its own exit status', () => assert.equal(TARGET_NOT_THIS_ENGINE, 69));

  it('makes a missing PostgreSQL database with the name as a psql variable; MySQL\'s dump makes its own', () => {
    const argv = databaseCommands({ type: 'postgres', name: 'shop' }).createDatabase('shop"; drop database shop; --')!;
    assert.match(argv[2], /CREATE DATABASE :"db" TEMPLATE template0' \| exec psql .*--set=db="\$2"$/);
    assert.doesNotMatch(argv[2], /drop database/);
    assert.deepEqual(argv.slice(4), ['postgres', 'shop"; drop database shop; --']);
    assert.equal(databaseCommands({ type: 'mysql', name: 'shop' }).createDatabase('shop_copy'), undefined);
  });

  const names: Array<[string, boolean]> = [
    ['shop', true],
    ['shop_copy', true],
    ['shop-2026', true],
    ['2026_shop', true],
    ['_x', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['-shop', false],
    ['shop copy', false],
    ['shop`', false],
    ['shop"', false],
    ['shop;drop', false],
    ['sh\u00f6p', false],
  ];
  for (const [name, ok] of names) it(`${ok ? 'accepts' : 'refuses'} database name ${JSON.stringify(name)}`, () => assert.equal(DATABASE_NAME.test(name), ok));
});
