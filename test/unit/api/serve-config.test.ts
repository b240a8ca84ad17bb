import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printableConfig, resolveConfig } from '../../../control-plane/config.js';

describe('the resolved configuration', () => {
  it('reads every variable in one place: the sealing key and the log level included', () => {
    const config = resolveConfig({ dataDir: '/data' }, { ENCRYPTION_KEY: 'a-key', LOG_LEVEL: 'debug' });
    assert.equal(config.encryptionKey, 'a-key');
    assert.equal(config.logLevel, 'debug');
    assert.equal(resolveConfig({ dataDir: '/data', logLevel: 'warn' }, { LOG_LEVEL: 'debug' }).logLevel, 'warn', 'a flag wins over the environment');
    assert.equal('encryptionKey' in resolveConfig({ dataDir: '/data' }, {}), false);
  });

  it('prints every setting, and no secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-config-'));
    try {
      const secretFile = join(dir, 'client-secret');
      writeFileSync(secretFile, 'oidc-client-secret-value\n');
      const cases: { name: string; env: NodeJS.ProcessEnv; databaseUrl?: string; shows: Record<string, unknown>; hides: string[] }[] = [
        { name: 'defaults', env: {}, shows: { logLevel: 'info', port: 7420, host: '127.0.0.1' }, hides: [] },
        { name: 'the sealing key', env: { ENCRYPTION_KEY: 'c2VhbGluZy1rZXktdmFsdWU=' }, shows: { encryptionKey: '[REDACTED]' }, hides: ['c2VhbGluZy1rZXktdmFsdWU='] },
        {
          name: 'a database password',
          env: {},
          databaseUrl: 'postgres://holdfast:db-password-value@db:5432/holdfast',
          shows: { databaseUrl: 'postgres://holdfast:%5BREDACTED%5D@db:5432/holdfast' },
          hides: ['db-password-value'],
        },
        { name: 'a database URL with no password', env: {}, databaseUrl: 'postgres://db/holdfast', shows: { databaseUrl: 'postgres://db/holdfast' }, hides: [] },
        { name: 'a libpq keyword string', env: {}, databaseUrl: 'host=db password=kw-password-value', shows: { databaseUrl: '[REDACTED]' }, hides: ['kw-password-value'] },
        {
          name: 'the OIDC client secret',
          env: {
            HOLDFAST_OIDC_ISSUER: 'https://id.example.com',
            HOLDFAST_OIDC_CLIENT_ID: 'holdfast',
            HOLDFAST_OIDC_CLIENT_SECRET_FILE: secretFile,
            HOLDFAST_OIDC_REDIRECT_URL: 'https://holdfast.example.com/auth/oidc/callback',
          },
          shows: { oidc: { clientId: 'holdfast', issuer: 'https://id.example.com/', clientSecret: '[REDACTED]' } },
          hides: ['oidc-client-secret-value'],
        },
      ];
      for (const c of cases) {
        const printed = printableConfig(resolveConfig({ dataDir: '/data', ...(c.databaseUrl ? { databaseUrl: c.databaseUrl } : {}) }, c.env));
        const text = JSON.stringify(printed);
        for (const [key, value] of Object.entries(c.shows)) {
          if (typeof value === 'object') for (const [k, v] of Object.entries(value as object)) assert.equal((printed[key] as Record<string, unknown>)[k], v, `${c.name}: ${key}.${k}`);
          else assert.equal(printed[key], value, `${c.name}: ${key}`);
        }
        for (const secret of c.hides) assert.ok(!text.includes(secret), `${c.name}: ${secret} not printed`);
        assert.equal(printed.dataDir, '/data', `${c.name}: the rest as resolved`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
