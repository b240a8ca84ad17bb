// Every API response passes the redactor on its way out: JSON bodies (objects, lists, Status errors)
// are redacted structurally, so they stay valid JSON; text bodies and streamed chunks (watch lines,
// deployment logs) as text. Binary bodies (static dashboard files) carry no secrets and pass unchanged.
import type { NextFunction, Request, Response } from 'express';
import type { Redactor } from '../security/redactor.js';

export function redactResponses(redactor: Redactor) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const json = res.json.bind(res);
    const send = res.send.bind(res);
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => Response;
    // res.json ends in res.send, and res.send in res.end, with what was already redacted.
    let inJson = false;
    let inSend = false;
    const text = (chunk: unknown, skip: boolean) => (typeof chunk === 'string' && !skip ? redactor.redactText(chunk) : chunk);
    res.json = (body: unknown) => {
      inJson = true;
      try {
        return json(redactor.redact(body));
      } finally {
        inJson = false;
      }
    };
    res.send = (body?: unknown) => {
      const redacted = text(body, inJson);
      inSend = true;
      try {
        return send(redacted);
      } finally {
        inSend = false;
      }
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => write(text(chunk, false), ...rest)) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => end(text(chunk, inSend), ...rest)) as typeof res.end;
    next();
  };
}
