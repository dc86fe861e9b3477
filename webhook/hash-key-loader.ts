/**
 * The per-cluster hash key, loaded in the background. Until it loads, admissions that need fresh
 * digests fail open (allowed unchanged, with a warning) and the load is retried; the webhook
 * serves regardless, because refusing to serve would only make the API server wait for timeouts.
 */
import type { KubeApi } from '../shared/kube/client.js';
import { readHashKey } from '../shared/kube/hashkey.js';
import type { HashKeyRef } from '../shared/kube/hashkey.js';
import { errorCode, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { WebhookMetrics } from './metrics.js';

export class HashKeyLoader {
  private key: Uint8Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastProblem = '';

  constructor(
    private readonly read: () => Promise<Uint8Array>,
    private readonly retryMs: number,
    private readonly log: Logger,
    private readonly metrics: WebhookMetrics,
  ) {
    metrics.hashKeyLoaded.set(0);
  }

  static forSecret(client: KubeApi, ref: HashKeyRef, retryMs: number, log: Logger, metrics: WebhookMetrics): HashKeyLoader {
    return new HashKeyLoader(() => readHashKey(client, ref), retryMs, log, metrics);
  }

  /** The key, or undefined while it is not loaded. */
  get current(): Uint8Array | undefined {
    return this.key;
  }

  /** Tries once now, then every retryMs until it succeeds or stop() is called. */
  start(): Promise<void> {
    return this.attempt();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    try {
      const key = await this.read();
      if (this.stopped) return;
      this.key = key;
      this.metrics.hashKeyLoaded.set(1);
      this.log.info('hash key loaded');
    } catch (err) {
      if (this.stopped) return;
      const problem = errorMessage(err);
      // One warning per distinct problem; retries of the same one log at debug.
      const level = problem === this.lastProblem ? 'debug' : 'warn';
      this.lastProblem = problem;
      this.log[level](
        { code: errorCode(err), err: problem, retryMs: this.retryMs },
        'hash key not loaded: admissions of tracked workloads are allowed unstamped until it is',
      );
      this.timer = setTimeout(() => void this.attempt(), this.retryMs);
      this.timer.unref();
    }
  }
}
