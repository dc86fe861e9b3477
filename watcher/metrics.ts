/** The watcher's Prometheus metrics, on a registry of its own (served by shared/ops-server.ts). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WatcherMetrics {
  readonly registry: Registry;
  readonly rollouts: Counter<'kind' | 'namespace' | 'reason'>;
  readonly adoptions: Counter<'kind' | 'namespace'>;
  readonly changeToPatch: Histogram;
  readonly reconcileErrors: Counter<'code'>;
  readonly queueDepth: Gauge;
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  readonly heldBack: Counter<'kind' | 'namespace'>;
  readonly isLeader: Gauge;
  readonly patches: Counter<'kind'>;
}

export function createWatcherMetrics(): WatcherMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'configstamp_watcher_' });
  const registers = [registry];
  return {
    registry,
    rollouts: new Counter({ name: 'configstamp_watcher_rollouts_total', help: 'Rollouts started by a stamp patch, by workload kind, namespace and reason (source-changed, source-created, source-deleted).', labelNames: ['kind', 'namespace', 'reason'], registers }),
    adoptions: new Counter({ name: 'configstamp_watcher_adoptions_total', help: 'Workloads whose current digests were recorded on their metadata (no rollout).', labelNames: ['kind', 'namespace'], registers }),
    changeToPatch: new Histogram({ name: 'configstamp_watcher_change_to_patch_seconds', help: 'From the first event of a change to the rollout patch, debounce included.', buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 30, 60], registers }),
    reconcileErrors: new Counter({ name: 'configstamp_watcher_reconcile_errors_total', help: 'Reconciles that failed, by error code.', labelNames: ['code'], registers }),
    queueDepth: new Gauge({ name: 'configstamp_watcher_queue_depth', help: 'Workloads waiting to be reconciled.', registers }),
    watchRestarts: new Counter({ name: 'configstamp_watcher_watch_restarts_total', help: 'Relists after a watch ended badly, by resource and reason (gone, error).', labelNames: ['resource', 'reason'], registers }),
    heldBack: new Counter({ name: 'configstamp_watcher_held_back_rollouts_total', help: 'Rollouts the churn guard held back (applied later with the latest state).', labelNames: ['kind', 'namespace'], registers }),
    isLeader: new Gauge({ name: 'configstamp_watcher_is_leader', help: '1 while this replica holds the leader Lease (and may write).', registers }),
    patches: new Counter({ name: 'configstamp_watcher_patches_total', help: 'Merge patches sent to workloads (rollouts and adoptions).', labelNames: ['kind'], registers }),
  };
}
