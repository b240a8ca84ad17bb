// Page sizes for the lists outside the resource store (tokens, audit log): `?limit=N&continue=…`,
// as Kubernetes lists page.
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
