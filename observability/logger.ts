// pino JSON logs. Child loggers carry the resource key, server or deployment id on every line.
import pino, { type Logger } from 'pino';

export type { Logger };

// Field names whose values are never logged, at any depth pino's redaction reaches.
const REDACT = [
  'privateKey',
  '*.privateKey',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'stringData',
  '*.stringData',
  'data',
  '*.data',
  'password',
  '*.password',
];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'holdfast' }, redact: { paths: REDACT, censor: '[REDACTED]' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
}

/** A logger that discards everything (tests, embedded use). */
export const silentLogger: Logger = pino({ level: 'silent' });
