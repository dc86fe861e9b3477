/**
 * The per-workload churn guard: a workload is rolled at most once per interval, however often its
 * sources flap. A rollout held back is not dropped: the queue runs the workload again when the
 * interval has passed, and the reconcile then applies whatever the sources hold at that moment.
 */
import type { Clock } from './clock.js';

export type GuardVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly waitMs: number; /** First hold since the last rollout: warn once. */ readonly firstHold: boolean };

export class ChurnGuard {
  private readonly lastRollout = new Map<string, number>();
  private readonly warned = new Set<string>();
  /** The longest interval asked for so far: what pruning may forget. */
  private longestMs: number;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {
    this.longestMs = intervalMs;
  }

  /** `intervalMs`: this workload's own interval (configstamp.io/min-rollout-interval), else the flag's. */
  check(key: string, intervalMs = this.intervalMs): GuardVerdict {
    if (intervalMs > this.longestMs) this.longestMs = intervalMs;
    const last = this.lastRollout.get(key);
    if (intervalMs <= 0 || last === undefined) return { allowed: true };
    const waitMs = last + intervalMs - this.clock.now();
    if (waitMs <= 0) return { allowed: true };
    const firstHold = !this.warned.has(key);
    this.warned.add(key);
    return { allowed: false, waitMs, firstHold };
  }

  record(key: string): void {
    this.lastRollout.set(key, this.clock.now());
    this.warned.delete(key);
    this.prune();
  }

  forget(key: string): void {
    this.lastRollout.delete(key);
    this.warned.delete(key);
  }

  /** Entries older than the interval say nothing any more; drop them so memory stays bounded. */
  private prune(): void {
    if (this.lastRollout.size < 1024) return;
    const cutoff = this.clock.now() - this.longestMs;
    for (const [key, at] of this.lastRollout) if (at < cutoff) this.lastRollout.delete(key);
  }
}
