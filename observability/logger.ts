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

/** What the logger needs of the secret redactor (security/redactor.ts). */
export interface LineRedactor {
  redactText(text: string): string;
}

/**
 * A JSON logger. With `redactor`, every line passes it just before it is written: secret values
 * are masked wherever they sit in the line, whatever field or error message carried them.
 */
export function createLogger(level = 'info', destination?: pino.DestinationStream, redactor?: LineRedactor): Logger {
  const out = destination ?? (redactor ? pino.destination(1) : undefined);
  const stream = redactor && out ? { write: (line: string) => out.write(redactor.redactText(line)) } : out;
  return pino(
    { level, base: { service: 'holdfast' }, redact: { paths: REDACT, censor: '[REDACTED]' }, timestamp: pino.stdTimeFunctions.isoTime },
    stream,
  );
}

/** A logger that discards everything (tests, embedded use). */
export const silentLogger: Logger = pino({ level: 'silent' });
