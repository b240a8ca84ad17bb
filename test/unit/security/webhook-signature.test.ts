import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { verifyWebhook, type WebhookHeaders } from '../../../security/webhook-signature.js';

const body = Buffer.from('{"ref":"refs/heads/main"}');
const sign = (token: string, b = body) => `sha256=${createHmac('sha256', token).update(b).digest('hex')}`;

test('webhook requests verify by the scheme their headers name, and only with the right token and body', () => {
  const table: Array<[string, WebhookHeaders, Buffer, ReturnType<typeof verifyWebhook>]> = [
    ['GitHub signature', { 'x-hub-signature-256': sign('tok') }, body, 'github'],
    ['GitHub signature in upper case hex', { 'x-hub-signature-256': sign('tok').toUpperCase().replace('SHA256=', 'sha256=') }, body, 'github'],
    ['GitHub signature of another body', { 'x-hub-signature-256': sign('tok') }, Buffer.from('{}'), undefined],
    ['GitHub signature with another token', { 'x-hub-signature-256': sign('other') }, body, undefined],
    ['GitHub signature cut short', { 'x-hub-signature-256': sign('tok').slice(0, 20) }, body, undefined],
    ['GitLab token', { 'x-gitlab-token': 'tok' }, body, 'gitlab'],
    ['GitLab wrong token', { 'x-gitlab-token': 'toke' }, body, undefined],
    ['generic HMAC', { 'x-signature-256': sign('tok') }, body, 'hmac'],
    ['a bad GitHub signature is not rescued by a good GitLab token', { 'x-hub-signature-256': 'sha256=00', 'x-gitlab-token': 'tok' }, body, undefined],
    ['no signature at all', {}, body, undefined],
  ];
  for (const [name, headers, b, expected] of table) assert.equal(verifyWebhook(headers, b, 'tok'), expected, name);
});
