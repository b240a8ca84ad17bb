// How failures are shown: server errors as kubectl shows them (`Error from server (NotFound): …`
// and one line per field cause), everything else as one `error: …` line. Stacks only on request.
import { HoldfastError, type FieldCause } from '../core/errors.js';
import { ApiError } from './client.js';
import { ManifestError, formatProblem } from '../manifests/manifest-error.js';

export function formatCauses(causes: FieldCause[], indent = '  '): string {
  return causes.map((c) => `${indent}- ${c.field ? `${c.field}: ` : ''}${c.message}\n`).join('');
}

/**
 * The message without the causes the server already folded into it (`X is invalid: a: m; b: n`),
 * since they follow one per line.
 */
export function headline(message: string, causes: FieldCause[]): string {
  if (!causes.length) return message;
  const first = causes[0].field ? `${causes[0].field}: ${causes[0].message}` : causes[0].message;
  const at = message.indexOf(`: ${first}`);
  return at > 0 ? message.slice(0, at) : message;
}

/** `Error from server (Invalid): message` plus causes, for an error the API answered with. */
export function formatServerError(err: ApiError, context?: string): string {
  if (err.httpStatus === 401) return `error: ${err.message}\n`;
  const head = `Error from server (${err.serverReason}): ${context ? `${context}: ` : ''}${headline(err.message, err.causes)}\n`;
  return head + formatCauses(err.causes);
}

export function formatError(err: unknown, debug = false): string {
  let text: string;
  if (err instanceof ApiError) text = formatServerError(err);
  else if (err instanceof ManifestError) text = err.problems.map((p) => `error: ${formatProblem(p)}\n`).join('');
  else if (err instanceof HoldfastError) text = `error: ${err.message}\n${formatCauses(err.causes)}`;
  else if (err instanceof Error) text = `error: ${err.message || err.name}\n`;
  else text = `error: ${String(err)}\n`;
  if (debug && err instanceof Error && err.stack) text += `${err.stack}\n`;
  return text;
}
