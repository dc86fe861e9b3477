/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * acquire or renew with a resourceVersion-guarded write; a standby takes over only after it has
 * seen the same record unchanged for a whole lease duration (its own clock, so clock skew between
 * nodes does not matter). A leader that cannot renew within the renew deadline stops writing.
 */
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from './clock.js';
import { sleep } from './clock.js';

export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string;
  readonly renewTime: string;
  readonly leaseTransitions: number;
}

/** The Lease object's spec, read and written with resourceVersion guards. */
export interface LeaseStore {
  get(): Promise<{ readonly record: LeaseRecord; readonly resourceVersion: string } | null>;
  /** Rejects when the Lease exists already (another replica won the race). */
  create(record: LeaseRecord): Promise<void>;
  /** Rejects on a resourceVersion conflict. */
  update(record: LeaseRecord, resourceVersion: string): Promise<void>;
}

export interface ElectorOptions {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly clock: Clock;
  readonly log: Logger;
}

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord): boolean {
  return a !== undefined && a.holderIdentity === b.holderIdentity && a.renewTime === b.renewTime && a.leaseTransitions === b.leaseTransitions;
}

export class LeaderElector {
  private observed: LeaseRecord | undefined;
  private observedAt = 0;
  private lastRenew: number | undefined;

  constructor(
    private readonly store: LeaseStore,
    private readonly options: ElectorOptions,
  ) {}

  /** True while this replica holds the lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.lastRenew !== undefined && this.options.clock.now() - this.lastRenew < this.options.renewDeadlineMs;
  }

  /** One attempt to acquire or renew; true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { clock, identity } = this.options;
    const now = clock.now();
    const stamp = new Date(now).toISOString();
    const fresh: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 0,
    };
    const existing = await this.store.get();
    if (existing === null) {
      await this.store.create(fresh);
      this.observed = fresh;
      this.observedAt = now;
      return true;
    }
    const { record, resourceVersion } = existing;
    if (!sameRecord(this.observed, record)) {
      this.observed = record;
      this.observedAt = now;
    }
    const mine = record.holderIdentity === identity;
    const expired = this.observedAt + record.leaseDurationSeconds * 1000 <= now;
    if (!mine && record.holderIdentity !== '' && !expired) return false;
    const next: LeaseRecord = mine
      ? { ...record, renewTime: stamp, leaseDurationSeconds: fresh.leaseDurationSeconds }
      : { ...fresh, leaseTransitions: record.leaseTransitions + 1 };
    await this.store.update(next, resourceVersion);
    this.observed = next;
    this.observedAt = now;
    return true;
  }

  private async attempt(): Promise<boolean> {
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) this.lastRenew = this.options.clock.now();
      return ok;
    } catch (err) {
      this.options.log.debug({ err: errorMessage(err) }, 'lease acquire/renew failed');
      return false;
    }
  }

  /**
   * Waits to become leader, calls onStarted, renews until the deadline is missed or `signal`
   * aborts, then calls onStopped. Resolves after onStopped (or when aborted while standing by).
   */
  async run(signal: AbortSignal, onStarted: () => void, onStopped: (reason: string) => void): Promise<void> {
    const { clock, log, retryPeriodMs, renewDeadlineMs } = this.options;
    while (!signal.aborted && !(await this.attempt())) await sleep(clock, retryPeriodMs);
    if (signal.aborted) return;
    log.info({ identity: this.options.identity }, 'became leader');
    onStarted();
    while (!signal.aborted) {
      await sleep(clock, retryPeriodMs);
      if (signal.aborted) break;
      if (await this.attempt()) continue;
      if (this.lastRenew === undefined || clock.now() - this.lastRenew >= renewDeadlineMs) {
        this.lastRenew = undefined;
        onStopped('lease lost: could not renew within the renew deadline');
        return;
      }
    }
    await this.release();
    onStopped('shutting down');
  }

  /** Hands the lease back on a clean shutdown, so a standby takes over at once. */
  async release(): Promise<void> {
    if (this.lastRenew === undefined) return;
    this.lastRenew = undefined;
    try {
      const existing = await this.store.get();
      if (existing === null || existing.record.holderIdentity !== this.options.identity) return;
      await this.store.update({ ...existing.record, holderIdentity: '', leaseDurationSeconds: 1 }, existing.resourceVersion);
    } catch (err) {
      this.options.log.debug({ err: errorMessage(err) }, 'could not release the lease');
    }
  }
}
