/**
 * Time as the watcher's scheduling sees it. Passed in, so the queue, the rate limiter, the churn
 * guard and leader election run against a manual clock in unit tests (test/support/manual-clock.ts).
 */

export interface Clock {
  now(): number;
  /** Calls fn after ms; the returned function cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(resolve, ms));
}
