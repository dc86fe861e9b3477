/**
 * The work queue of workload keys, as controller-runtime's: events only add keys; a key is
 * reconciled by one worker at a time; a key added while it is being reconciled runs again after.
 * Adds are coalesced by a quiet period: a key runs once no add for it came for its debounce, each
 * add restarting the wait, and never later than `debounceMaxMs` after the first add (so a lone
 * change waits only the quiet period, what one `kubectl apply` or `helm upgrade` sends joins one
 * reconcile, and a stream of changes is still bounded). A reconcile may ask to run again later
 * (churn guard) or to be retried with exponential backoff (409, 429, 5xx).
 */
import type { Clock } from './clock.js';

export type ReconcileResult = void | { readonly retry: true } | { readonly requeueAfterMs: number };

export interface ReconcileContext {
  /** When the earliest add that this reconcile answers was made (for change→patch latency). */
  readonly since: number;
}

export interface QueueOptions {
  readonly clock: Clock;
  /** The quiet period: a key runs once no add for it came for this long. */
  readonly debounceMs: number;
  /** The most a key waits after its first add however adds keep coming (at least its quiet period). */
  readonly debounceMaxMs?: number;
  readonly workers: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Called whenever the number of keys waiting changes. */
  readonly onDepth?: (depth: number) => void;
}

export type Reconciler = (key: string, context: ReconcileContext) => Promise<ReconcileResult>;

export class WorkQueue {
  private readonly scheduled = new Map<string, { at: number; cancel: () => void }>();
  /**
   * Keys ready to run, oldest first, from `readyHead` on: a FIFO taken from the front in O(1), as
   * a restart sync makes every workload ready at once (50,000 keys: an Array.shift or splice per
   * key would move the whole rest each time).
   */
  private ready: string[] = [];
  private readyHead = 0;
  private readonly readySet = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while processing: run again once the current reconcile ends. */
  private readonly dirty = new Map<string, number>();
  private readonly since = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  /** Keys whose pending run is a quiet period's: when its first add came, and the run's time. */
  private readonly quiet = new Map<string, { first: number; at: number }>();
  private wake: (() => void) | undefined;
  private stopped = false;
  private running: Promise<void>[] = [];

  constructor(private readonly options: QueueOptions) {}

  /**
   * A change concerns `key`: reconcile it once no further change came for `delayMs` (its quiet
   * period; the queue's debounce when undefined), and at the latest the queue's maximum after
   * the first change. 0 runs it at once.
   */
  add(key: string, delayMs: number | undefined = this.options.debounceMs): void {
    delayMs ??= this.options.debounceMs;
    if (this.stopped) return;
    const now = this.options.clock.now();
    if (!this.since.has(key)) this.since.set(key, now);
    if (this.processing.has(key)) {
      const at = now + delayMs;
      this.dirty.set(key, Math.min(this.dirty.get(key) ?? at, at));
    } else {
      const pending = this.quiet.get(key);
      // 0 (a restart sync, a boot) runs it at once, quiet period or not.
      if (pending !== undefined && delayMs > 0 && this.scheduled.get(key)?.at === pending.at) {
        // Still quiet-waiting: this add restarts the wait, up to the maximum after the first.
        const cap = pending.first + Math.max(this.options.debounceMaxMs ?? 0, delayMs);
        this.reschedule(key, Math.max(pending.at, Math.min(now + delayMs, cap)), pending.first);
      } else {
        this.schedule(key, now + delayMs);
        const at = this.scheduled.get(key)?.at;
        if (at === now + delayMs) this.quiet.set(key, { first: now, at });
      }
    }
    this.reportDepth();
  }

  /** Moves a quiet-waiting key's run to `at`, later or not. */
  private reschedule(key: string, at: number, first: number): void {
    if (this.scheduled.get(key)?.at === at) return;
    this.scheduled.get(key)?.cancel();
    this.scheduled.delete(key);
    this.schedule(key, at);
    if (this.scheduled.get(key)?.at === at) this.quiet.set(key, { first, at });
  }

  /** Runs `key` no earlier than `ms` from now (unless an add brings it forward). */
  addAfter(key: string, ms: number): void {
    if (this.stopped || this.processing.has(key)) return;
    this.schedule(key, this.options.clock.now() + ms);
    this.reportDepth();
  }

  /** Keys waiting: scheduled, ready, or to run again after their current reconcile. */
  get depth(): number {
    let dirtyOnly = 0;
    for (const key of this.dirty.keys()) if (!this.scheduled.has(key) && !this.readySet.has(key)) dirtyOnly++;
    return this.scheduled.size + this.readySet.size + dirtyOnly;
  }

  private schedule(key: string, at: number): void {
    if (this.readySet.has(key)) return;
    const existing = this.scheduled.get(key);
    if (existing !== undefined && existing.at <= at) return;
    existing?.cancel();
    if (at <= this.options.clock.now()) {
      this.scheduled.delete(key);
      this.makeReady(key);
      return;
    }
    const cancel = this.options.clock.setTimer(() => {
      if (this.scheduled.get(key)?.cancel !== cancel) return;
      this.scheduled.delete(key);
      this.makeReady(key);
    }, at - this.options.clock.now());
    this.scheduled.set(key, { at, cancel });
  }

  private makeReady(key: string): void {
    this.quiet.delete(key);
    if (this.readySet.has(key) || this.stopped) return;
    this.readySet.add(key);
    this.ready.push(key);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private reportDepth(): void {
    this.options.onDepth?.(this.depth);
  }

  /** Starts the workers; reconcile errors must be handled by `reconcile` (a throw counts as retry). */
  start(reconcile: Reconciler): void {
    for (let i = 0; i < this.options.workers; i++) this.running.push(this.worker(reconcile));
  }

  private async next(): Promise<string | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const key = this.takeReady();
      if (key !== undefined) return key;
      await new Promise<void>((resolve) => {
        const prev = this.wake;
        this.wake = () => {
          prev?.();
          resolve();
        };
      });
    }
  }

  /** The oldest ready key not being reconciled now (one that is waits for its turn, in place). */
  private takeReady(): string | undefined {
    for (let i = this.readyHead; i < this.ready.length; i++) {
      const key = this.ready[i]!;
      if (this.processing.has(key)) continue;
      if (i === this.readyHead) this.readyHead++;
      else this.ready.splice(i, 1);
      this.readySet.delete(key);
      // Drop the taken front now and then, so the array does not grow without bound.
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      return key;
    }
    if (this.readyHead === this.ready.length && this.readyHead > 0) {
      this.ready = [];
      this.readyHead = 0;
    }
    return undefined;
  }

  private async worker(reconcile: Reconciler): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      this.processing.add(key);
      const since = this.since.get(key) ?? this.options.clock.now();
      this.since.delete(key);
      this.reportDepth();
      let result: ReconcileResult;
      try {
        result = await reconcile(key, { since });
      } catch {
        result = { retry: true };
      }
      this.processing.delete(key);
      this.finish(key, result, since);
      this.reportDepth();
    }
  }

  private finish(key: string, result: ReconcileResult, since: number): void {
    const dirtyAt = this.dirty.get(key);
    this.dirty.delete(key);
    if (result && 'retry' in result) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (failures - 1));
      if (!this.since.has(key)) this.since.set(key, since);
      this.schedule(key, Math.min(dirtyAt ?? Infinity, this.options.clock.now() + delay));
      return;
    }
    this.failures.delete(key);
    if (result && 'requeueAfterMs' in result) {
      if (!this.since.has(key)) this.since.set(key, since);
      this.schedule(key, this.options.clock.now() + result.requeueAfterMs);
    }
    if (dirtyAt !== undefined) this.schedule(key, dirtyAt);
  }

  /** Stops handing out keys; resolves when every in-flight reconcile has finished. */
  async shutDown(): Promise<void> {
    this.stopped = true;
    for (const { cancel } of this.scheduled.values()) cancel();
    this.scheduled.clear();
    this.quiet.clear();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    await Promise.all(this.running);
    this.running = [];
  }
}
