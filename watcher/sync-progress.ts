/**
 * Progress of a restart sync: every workload is reconciled once after the lists (or after this
 * replica becomes leader). Logs how far it got every few seconds, and once when the last workload
 * is done, so an operator watching a boot over thousands of workloads sees it move and end, and
 * how many sources it had to read (GETs of data the digest cache did not have).
 */
import type { Logger } from '../shared/log.js';
import type { Clock } from './clock.js';

export class SyncProgress {
  private pending: Set<string> | undefined;
  private total = 0;
  private startedAt = 0;
  private lastReport = 0;
  private readsAtStart = 0;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly everyMs = 5_000,
    /** Sources read so far (the digest cache's count). */
    private readonly reads: () => number = () => 0,
  ) {}

  /** A restart sync begins over these keys (a later call starts a new one). */
  begin(keys: Iterable<string>): void {
    this.pending = new Set(keys);
    this.total = this.pending.size;
    this.startedAt = this.lastReport = this.clock.now();
    this.readsAtStart = this.reads();
    if (this.total === 0) this.finish();
  }

  /** `key` was reconciled (or left the cache); retries do not count. */
  done(key: string): void {
    if (this.pending === undefined || !this.pending.delete(key)) return;
    if (this.pending.size === 0) return this.finish();
    const now = this.clock.now();
    if (now - this.lastReport >= this.everyMs) {
      this.lastReport = now;
      this.log.info({ done: this.total - this.pending.size, workloads: this.total }, 'restart sync: progress');
    }
  }

  private finish(): void {
    this.pending = undefined;
    this.log.info(
      { workloads: this.total, ms: this.clock.now() - this.startedAt, sourcesRead: this.reads() - this.readsAtStart },
      'restart sync: every workload reconciled once',
    );
  }
}
