// The built CLI against `holdfast serve` over HTTPS with a self-signed certificate: trusted through
// --certificate-authority, HOLDFAST_CA_FILE or a named context of the config file, refused with a
// hint without it, and a plain-HTTP
// request to the TLS port answered with a hint instead of a reset connection.
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

describe('the CLI against a TLS server with a self-signed certificate', () => {
  let serve: ServeProcess;
  let env: Record<string, string>;

  before(async () => {
    serve = await startServeProcess({ tls: true });
    env = { HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token };
  });
  after(async () => serve?.stop());

  it('trusts the authority named by --certificate-authority or HOLDFAST_CA_FILE', async () => {
    for (const [args, extra] of [
      [['--certificate-authority', serve.caFile!], {}],
      [[], { HOLDFAST_CA_FILE: serve.caFile! }],
    ] as const) {
      const res = await runCli([...args, 'get', 'projects'], { ...env, ...extra });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, 'No resources found\n');
    }
  });

  it('trusts the server, authority and token of a named context (holdfast config set-context, use-context)', async () => {
    const home = { XDG_CONFIG_HOME: join(serve.dataDir, 'config-home') };
    const set = await runCli(['config', 'set-context', 'tls', '--server', serve.url, '--certificate-authority', serve.caFile!, '--token', serve.token], home);
    assert.equal(set.stdout, 'Context "tls" created.\n', set.stderr);
    assert.equal((await runCli(['config', 'use-context', 'tls'], home)).stdout, 'Switched to context "tls".\n');
    const listed = await runCli(['config', 'get-contexts'], home);
    assert.match(listed.stdout, new RegExp(`^\\*\\s+tls\\s+${serve.url.replace(/[.]/g, '\\.')}\\s+\\S+\\s+token$`, 'm'));
    assert.ok(!listed.stdout.includes(serve.token), 'the token is never printed');
    assert.equal(statSync(join(home.XDG_CONFIG_HOME, 'holdfast', 'config')).mode & 0o777, 0o600);
    const res = await runCli(['get', 'projects'], home);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, 'No resources found\n');
    const unknown = await runCli(['--context', 'staging', 'get', 'projects'], home);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: context "staging" \(from --context\) is not in \S+: it has tls; add it with holdfast config set-context staging --server URL\n$/);
  });

  it('without it, says what to pass; a file that is no certificate is named', async () => {
    const res = await runCli(['get', 'projects'], env);
    assert.equal(res.code, 1);
    assert.equal(
      res.stderr,
      `error: cannot reach the Holdfast API at ${serve.url}: its certificate is not signed by an authority this CLI trusts (DEPTH_ZERO_SELF_SIGNED_CERT): pass the authority's PEM file with --certificate-authority FILE or HOLDFAST_CA_FILE\n`,
    );
    const notPem = join(serve.dataDir, 'not-a-cert.txt');
    writeFileSync(notPem, 'hello\n');
    const bad = await runCli(['get', 'projects'], { ...env, HOLDFAST_CA_FILE: notPem });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, `error: the certificate authority file ${notPem} from HOLDFAST_CA_FILE holds no PEM certificate (-----BEGIN CERTIFICATE-----)\n`);
    const missing = await runCli(['--certificate-authority', '/nowhere/ca.crt', 'get', 'projects'], env);
    assert.equal(missing.stderr, 'error: cannot read the certificate authority file /nowhere/ca.crt from --certificate-authority (ENOENT)\n');
  });

  it('a plain-HTTP request to the TLS port is answered with a hint', async () => {
    const plainUrl = serve.url.replace('https://', 'http://');
    const res = await runCli(['get', 'projects'], { ...env, HOLDFAST_URL: plainUrl });
    assert.equal(res.code, 1);
    const host = plainUrl.slice('http://'.length);
    assert.equal(res.stderr, `Error from server (BadRequest): this port serves HTTPS only: the request came as plain HTTP; use https://${host}\n`);
    const raw = await fetch(`${plainUrl}/readyz`);
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { kind: string }).kind, 'Status');
  });
});
