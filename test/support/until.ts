// Polling for tests that wait on a real system (a rollout, a host, a watch): `fn` answers undefined
// (or throws) until the thing has happened; the error names what never happened, and the last failure.
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((ok) => setTimeout(ok, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
