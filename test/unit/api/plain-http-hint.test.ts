import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainHttpAnswer } from '../../../api/plain-http-hint.js';

describe('the answer to plain HTTP on the TLS port', () => {
  const cases: Array<[string, string, string]> = [
    ['names the https:// URL from the Host header', 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:7420\r\n\r\n', 'use https://127.0.0.1:7420'],
    ['reads the header in any case', 'GET / HTTP/1.1\r\nhost: edge.example:443\r\n\r\n', 'use https://edge.example:443'],
    ['leaves out a Host that is not a plain host name', 'GET / HTTP/1.1\r\nHost: a"b<script>\r\n\r\n', 'use https://'],
    ['has no Host to name', 'GET / HTTP/1.0\r\n\r\n', 'use https://'],
  ];
  for (const [name, request, hint] of cases) {
    it(name, () => {
      const answer = plainHttpAnswer(request);
      const [head, body] = answer.split('\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/json\r\nContent-Length: (\d+)\r\nConnection: close$/);
      assert.equal(Number(/Content-Length: (\d+)/.exec(head)![1]), Buffer.byteLength(body));
      const status = JSON.parse(body) as { kind: string; reason: string; code: number; message: string };
      assert.deepEqual([status.kind, status.reason, status.code], ['Status', 'BadRequest', 400]);
      assert.equal(status.message, `this port serves HTTPS only: the request came as plain HTTP; ${hint}`);
    });
  }
});
