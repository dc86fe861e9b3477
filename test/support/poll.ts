/** Polling for end-to-end assertions: the API is eventually consistent, so tests wait with a bound. */
import { waitFor } from '../cluster/readiness.js';

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Calls `probe` until it returns a value other than undefined, or throws after timeoutMs. The
 * polling itself is the harness's waitFor (probe errors count as "not yet", the last is reported).
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  let value: T | undefined;
  await waitFor(what, async () => (value = await probe()) !== undefined, { timeoutMs, intervalMs });
  return value as T;
}
