// An HTTPS port that receives plain HTTP answers it with a 400 Status saying to use https://, as
// the Kubernetes API server does, instead of dropping the connection (which clients report only as
// "connection reset"). The first byte of a connection tells them apart: a TLS handshake starts
// with 0x16; the TLS server then reads the connection from that byte on.
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { HoldfastError } from '../core/errors.js';
import { statusFor } from './status.js';

const TLS_HANDSHAKE = 0x16;
/** A connection that sends nothing for this long is closed before any TLS starts. */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

export function answerPlainHttp(server: HttpsServer): HttpsServer {
  const tlsListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE) {
        for (const listener of tlsListeners) listener.call(server, socket);
        return;
      }
      socket.end(plainHttpAnswer(chunk.toString('latin1')));
    });
    socket.on('error', () => socket.destroy());
  });
  return server;
}

/** The whole HTTP/1.1 response: a Status naming the https:// URL the request should have used. */
export function plainHttpAnswer(requestStart: string): string {
  const host = /\r\nhost: *([^\r\n]+)/i.exec(requestStart)?.[1]?.trim();
  const where = host && /^[\w.:[\]-]+$/.test(host) ? `https://${host}` : 'https://';
  const body = JSON.stringify(statusFor(new HoldfastError('BadRequest', `this port serves HTTPS only: the request came as plain HTTP; use ${where}`)));
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
