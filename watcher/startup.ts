/**
 * The watcher's start-up sequence, apart from the wiring in main.ts (controller-runtime's manager
 * does the same): wait for the API server, then for every informer's first list, warm the digest
 * cache, and only then let the controller reconcile (markSynced); beside it, leadership, which
 * starts the queue.
 */
import { errorMessage } from '../shared/errors.js';
import type { Informer } from '../shared/kube/informer.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from './clock.js';
import type { EventRouter } from './event-router.js';
import type { LeaderElector } from './leader.js';
import type { WatcherMetrics } from './metrics.js';
import type { WarmupResult } from './warmup.js';

/**
 * Runs `step` until it succeeds, with backoff (1 s doubling to 30 s), logging each failure; gives
 * up only when the process is told to stop (undefined then). A watcher started while the API
 * server is away waits for it instead of exiting and crash-looping.
 */
export async function untilStopped<T>(stopped: Promise<string>, log: Logger, what: string, step: () => Promise<T>): Promise<T | undefined> {
  let stop = false;
  void stopped.then(() => (stop = true));
  for (let attempt = 0; !stop; attempt++) {
    try {
      return await step();
    } catch (err) {
      const delay = Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5));
      log.warn({ err: errorMessage(err), retryInMs: delay }, `${what} failed; waiting for the API server`);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, delay))]);
    }
  }
  return undefined;
}

export interface SyncDeps {
  readonly informers: readonly Informer[];
  readonly controller: EventRouter;
  /** Fills the digest cache from lists; a failure only costs GETs later. */
  readonly warm: () => Promise<WarmupResult>;
  readonly log: Logger;
  readonly clock: Clock;
}

/** Every informer's first list, then the warm-up, then markSynced (restart sync may begin). */
export async function syncAfterLists(deps: SyncDeps, stopped: Promise<string>): Promise<void> {
  const listed = await Promise.race([Promise.all(deps.informers.map((i) => i.listed)).then(() => true), stopped.then(() => false)]);
  if (!listed) return;
  const started = deps.clock.now();
  try {
    const warm = await deps.warm();
    deps.log.info({ ...warm, ms: deps.clock.now() - started }, 'warmed the digest cache from workload records and lists');
  } catch (err) {
    // Stopped mid-way (the process is shutting down): nothing is to be reconciled now.
    if (err instanceof Error && err.name === 'AbortError') return;
    deps.log.warn({ err: errorMessage(err) }, 'warm-up failed; sources will be read one by one');
  }
  deps.controller.markSynced();
  deps.log.info(
    { workloads: deps.controller.cache.workloadKeys().length, tracked: deps.controller.index.size },
    'synced: listed namespaces, sources and workloads',
  );
}

export interface LeadDeps {
  /** Undefined without --leader-elect: this replica leads at once, alone. */
  readonly elector: LeaderElector | undefined;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly identity: string;
  readonly metrics: Pick<WatcherMetrics, 'isLeader'>;
  /** Leading: start the queue (every workload is reconciled: restart sync). */
  readonly onLead: () => void;
  /** Leadership lost other than by shutting down: the process exits so a fresh replica stands by. */
  readonly onLost: () => void;
}

/** Runs leader election (or leads at once), calling onLead and onLost; resolves when it ends. */
export function lead(deps: LeadDeps): Promise<void> {
  const start = (): void => {
    deps.metrics.isLeader.set(1);
    deps.log.info({ identity: deps.identity }, 'leading: reconciling every workload (restart sync)');
    deps.onLead();
  };
  if (deps.elector === undefined) {
    start();
    return Promise.resolve();
  }
  return deps.elector.run(deps.signal, start, (reason) => {
    deps.metrics.isLeader.set(0);
    if (reason === 'shutting down') return;
    deps.log.error({ reason }, 'lost leadership: exiting so a fresh replica stands by');
    deps.onLost();
  });
}
