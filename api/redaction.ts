// Every API response passes the redactor on its way out: JSON bodies (objects, lists, Status errors)
// are redacted structurally, so they stay valid JSON; text bodies and streamed chunks (watch lines)
// as text. Binary bodies (static dashboard files) carry no secrets and pass unchanged.
import type { NextFunction, Request, Response } from 'express';
import type { Redactor } from '../security/redactor.js';

export function redactResponses(redactor: Redactor) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const json = res.json.bind(res);
    const send = res.send.bind(res);
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    let sendingJson = false;
    res.json = (body: unknown) => {
      sendingJson = true;
      try {
        return json(redactor.redact(body));
      } finally {
        sendingJson = false;
      }
    };
    // res.json ends in res.send with the serialised (already redacted) body.
    res.send = (body?: unknown) => send(typeof body === 'string' && !sendingJson ? redactor.redactText(body) : body);
    res.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? redactor.redactText(chunk) : chunk, ...rest)) as typeof res.write;
    next();
  };
}
