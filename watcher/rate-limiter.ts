/**
 * A token bucket for patches to workloads, shared by all workers: `burst` patches at once, then
 * `qps` per second. Each take reserves a token (the balance may go below zero) and waits until it
 * is due, so over any interval t no more than burst + qps·t patches start.
 */
import type { Clock } from './clock.js';
import { sleep } from './clock.js';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Milliseconds the caller must wait for its token (0 when one is free); the token is taken. */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await sleep(this.clock, wait);
  }
}
