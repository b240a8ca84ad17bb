// Query parameters shared by the routes: page sizes for the lists outside the resource store (tokens,
// audit log: `?limit=N&continue=…`, as Kubernetes lists page), strings and boolean flags.
import { HoldfastError } from '../core/errors.js';

export const MAX_PAGE = 500;

/** `?limit`, bounded to MAX_PAGE; `fallback` when absent. */
export function pageLimit(value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n <= 0) throw new HoldfastError('BadRequest', 'limit must be a positive integer');
  return Math.min(n, MAX_PAGE);
}

export const queryString = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A boolean parameter: `true`/`1` or `false`/`0`; undefined when absent; anything else is a 400 naming it. */
export function queryFlag(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'string' ? value : String(value);
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new HoldfastError('BadRequest', `${name} must be true or false, got "${text}"`);
}
