import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { HoldfastClient, ApiUnreachableError } from '../../../cli/client.js';
import { parseDuration, resolveClientConfig } from '../../../cli/config.js';
import { kindInfo } from '../../../core/resource.js';

const noFile = async (): Promise<string> => {
  throw Object.assign(new Error('missing'), { code: 'ENOENT' });
};

describe('resolveClientConfig: flags, then environment, then defaults', () => {
  test('defaults: local API, token from the data directory', async () => {
    const read = async (path: string) => {
      if (path === '/cfg/holdfast/session' || path === '/cfg/holdfast/config') return noFile();
      assert.equal(path, '/data/admin.token');
      return 'tok-file\n';
    };
    const config = await resolveClientConfig({}, { HOLDFAST_DATA_DIR: '/data', XDG_CONFIG_HOME: '/cfg' }, read);
    assert.deepEqual(config, { server: 'http://127.0.0.1:7420', token: 'tok-file', tokenSource: '/data/admin.token', requestTimeoutMs: 30_000 });
  });

  test('the session of holdfast login before the admin token', async () => {
    const read = async (path: string) => (path === '/cfg/holdfast/config' ? noFile() : path === '/cfg/holdfast/session' ? 'hfs_session\n' : 'tok-file\n');
    const config = await resolveClientConfig({}, { HOLDFAST_DATA_DIR: '/data', XDG_CONFIG_HOME: '/cfg' }, read);
    assert.equal(config.token, 'hfs_session');
    assert.equal(config.tokenSource, '/cfg/holdfast/session');
  });

  test('environment over defaults, flags over environment', async () => {
    const env = { HOLDFAST_URL: 'http://env:1/', HOLDFAST_TOKEN: 'tok-env' };
    assert.deepEqual(await resolveClientConfig({}, env, noFile), { server: 'http://env:1', token: 'tok-env', tokenSource: 'HOLDFAST_TOKEN', requestTimeoutMs: 30_000 });
    assert.deepEqual(await resolveClientConfig({ server: 'https://flag:2', token: 'tok-flag', requestTimeout: '5s' }, env, noFile), {
      server: 'https://flag:2',
      token: 'tok-flag',
      tokenSource: '--token',
      requestTimeoutMs: 5000,
    });
  });

  test('a certificate authority from --certificate-authority, else HOLDFAST_CA_FILE', async () => {
    const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const files: Record<string, string> = { '/ca/flag.crt': PEM, '/ca/env.crt': PEM.replace('MIIB', 'MIIC'), '/ca/note.txt': 'hello' };
    const read = async (path: string) => {
      if (path in files) return files[path];
      throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    };
    const env = { HOLDFAST_TOKEN: 't', HOLDFAST_CA_FILE: '/ca/env.crt' };
    assert.equal((await resolveClientConfig({ certificateAuthority: '/ca/flag.crt' }, env, read)).ca, files['/ca/flag.crt']);
    assert.equal((await resolveClientConfig({}, env, read)).ca, files['/ca/env.crt']);
    assert.equal((await resolveClientConfig({}, { HOLDFAST_TOKEN: 't' }, read)).ca, undefined);
    await assert.rejects(resolveClientConfig({}, { ...env, HOLDFAST_CA_FILE: '/ca/note.txt' }, read), /the certificate authority file \/ca\/note.txt from HOLDFAST_CA_FILE holds no PEM certificate/);
    await assert.rejects(resolveClientConfig({ certificateAuthority: '/ca/none.crt' }, env, read), /cannot read the certificate authority file \/ca\/none.crt from --certificate-authority \(ENOENT\)/);
  });

  test('no token anywhere is not an error until the server asks for one', async () => {
    const config = await resolveClientConfig({}, { HOLDFAST_DATA_DIR: '/nowhere' }, noFile);
    assert.equal(config.token, undefined);
  });

  const bad: Array<[string, Parameters<typeof resolveClientConfig>[0], RegExp]> = [
    ['not a URL', { server: 'localhost:7420' }, /invalid server URL "localhost:7420"/],
    ['credentials in the URL', { server: 'http://user:pw@host' }, /must not carry credentials/],
    ['another scheme', { server: 'ftp://host' }, /only http and https/],
    ['a token with a newline', { token: 'abc\ndef' }, /the token from --token contains spaces or control characters/],
  ];
  for (const [name, flags, re] of bad) {
    test(`rejects ${name} without echoing secrets`, async () => {
      await assert.rejects(resolveClientConfig(flags, {}, noFile), (err: Error) => {
        assert.match(err.message, re);
        assert.doesNotMatch(err.message, /pw|abc/);
        return true;
      });
    });
  }
});

test('durations', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('10'), 10_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('1m30s'), 90_000, 'Go durations, as kubectl takes them');
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration(' 2h '), 7_200_000);
  assert.throws(() => parseDuration('soon'), /invalid duration "soon"/);
  assert.equal(parseDuration('2d'), 172_800_000, 'days as the audit and token flags take them');
  assert.throws(() => parseDuration('5y'), /invalid duration "5y"/);
  assert.throws(() => parseDuration('-1s'), /invalid duration "-1s"/);
});

test('a refused connection says how to fix it', async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
  const server = `http://127.0.0.1:${port}`;
  const client = new HoldfastClient({ server, token: 'secret-token', tokenSource: '--token', requestTimeoutMs: 5000 });
  await assert.rejects(client.list(kindInfo('Service')!), (err: unknown) => {
    assert.ok(err instanceof ApiUnreachableError);
    assert.equal(err.message, `cannot reach the Holdfast API at ${server}: is \`holdfast serve\` running?`);
    return true;
  });
});
