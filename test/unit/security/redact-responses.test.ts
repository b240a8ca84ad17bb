// The response wrapper: JSON stays valid JSON, text and streamed chunks are masked too.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { redactResponses } from '../../../api/redaction.js';
import { REDACTED, Redactor } from '../../../security/redactor.js';

const SECRET = 's3cr3t-"quoted"-value';
const NUMERIC = '123456';

describe('redactResponses', () => {
  let server: Server;
  let url: string;
  before(async () => {
    const redactor = new Redactor();
    redactor.register(SECRET);
    redactor.register(NUMERIC);
    const app = express();
    app.use(redactResponses(redactor));
    app.get('/json', (_req, res) => {
      res.json({ message: `failed: ${SECRET}`, [SECRET]: 1, count: 123456, code: NUMERIC });
    });
    app.get('/resource', (_req, res) => {
      res.json({
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'ServiceList',
        metadata: {},
        items: [
          {
            apiVersion: 'holdfast.dev/v1alpha1',
            kind: 'Service',
            metadata: { name: 'web', namespace: 'shop', annotations: { note: SECRET } },
            spec: { env: [{ name: 'GUESS', value: SECRET }] },
            status: { conditions: [{ type: 'Ready', message: `exited: ${SECRET}` }] },
          },
          { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Event', metadata: { name: 'e1' }, message: SECRET },
        ],
      });
    });
    app.get('/text', (_req, res) => {
      res.type('text/plain').send(`line with ${SECRET}\n`);
    });
    app.get('/stream', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.write(JSON.stringify({ type: 'ADDED', object: { note: SECRET } }) + '\n');
      res.end(`tail ${SECRET}\n`);
    });
    server = createServer(app);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((ok) => server.close(() => ok())));

  it('masks JSON bodies structurally: valid JSON, strings and keys masked, numbers kept', async () => {
    const text = await (await fetch(`${url}/json`)).text();
    assert.deepEqual(JSON.parse(text), { message: `failed: ${REDACTED}`, [REDACTED]: 1, count: 123456, code: REDACTED });
  });

  it('leaves what a client declared (spec, metadata but annotations) and masks status, annotations and events', async () => {
    const list = await (await fetch(`${url}/resource`)).json();
    const [service, event] = list.items;
    assert.deepEqual(service.spec, { env: [{ name: 'GUESS', value: SECRET }] }, 'a dry run cannot ask whether a value is a secret');
    assert.equal(service.metadata.annotations.note, REDACTED);
    assert.equal(service.status.conditions[0].message, `exited: ${REDACTED}`);
    assert.equal(event.message, REDACTED);
  });

  it('masks text bodies', async () => {
    assert.equal(await (await fetch(`${url}/text`)).text(), `line with ${REDACTED}\n`);
  });

  it('masks streamed chunks and the last one', async () => {
    const text = await (await fetch(`${url}/stream`)).text();
    assert.ok(!text.includes('s3cr3t'), text);
    const [first, second] = text.trim().split('\n');
    assert.deepEqual(JSON.parse(first), { type: 'ADDED', object: { note: REDACTED } });
    assert.equal(second, `tail ${REDACTED}`);
  });
});
