import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portConflictOf } from '../../../core/deploy/port-conflict.js';

describe('the host port a failed container start could not publish', () => {
  const cases: Array<[what: string, message: string, expected: ReturnType<typeof portConflictOf>]> = [
    [
      'a process on the host (userland proxy, Docker 20-24)',
      'driver failed programming external connectivity on endpoint hf_shop_production_web_1 (0123abcd): Error starting userland proxy: listen tcp4 0.0.0.0:22: bind: address already in use',
      { port: 22, protocol: 'tcp', hostIp: '0.0.0.0' },
    ],
    [
      'a process on the host (Docker 25+)',
      'driver failed programming external connectivity on endpoint web (0123abcd): failed to bind port 0.0.0.0:8080/tcp: Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use',
      { port: 8080, protocol: 'tcp', hostIp: '0.0.0.0' },
    ],
    ['IPv6', 'Error starting userland proxy: listen tcp6 [::]:443: bind: address already in use', { port: 443, protocol: 'tcp', hostIp: '[::]' }],
    ['UDP', 'Error starting userland proxy: listen udp4 127.0.0.1:53: bind: address already in use', { port: 53, protocol: 'udp', hostIp: '127.0.0.1' }],
    ['another container', 'driver failed programming external connectivity on endpoint web (0123abcd): Bind for 0.0.0.0:18080 failed: port is already allocated', { port: 18080, hostIp: '0.0.0.0' }],
    ['something else', 'OCI runtime create failed: exec: "httpd": executable file not found in $PATH', undefined],
  ];
  for (const [what, message, expected] of cases) it(what, () => assert.deepEqual(portConflictOf(message), expected));
});
