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
  readonly budgetInProgress: Gauge;
  readonly budgetWaiting: Gauge;
  readonly windowHolds: Counter<'kind' | 'namespace' | 'reason'>;
  readonly windowHeld: Gauge;
  readonly waveHolds: Counter<'kind' | 'namespace' | 'reason'>;
  readonly waveHeld: Gauge;
  readonly isLeader: Gauge;
  readonly patches: Counter<'kind'>;
  readonly notifications: Counter<'kind' | 'namespace'>;
  readonly alerts: Counter<'result'>;
  /** Reloader's metric names, so its dashboards and alerts keep working (docs/watcher.md). */
  readonly reloader: ReloaderMetrics;
}

export interface ReloaderMetrics {
  readonly reloadExecuted: Counter<'success'>;
  /** Only with METRICS_COUNT_BY_NAMESPACE=enabled, as in Reloader. */
  readonly reloadExecutedByNamespace: Counter<'success' | 'namespace'> | undefined;
  readonly action: Counter<'workload_kind' | 'result'>;
  readonly actionLatency: Histogram<'workload_kind'>;
}

/** Counts one rollout (or notify-mode notification) attempt under Reloader's names. */
export function countReload(m: ReloaderMetrics, kind: string, namespace: string, ok: boolean, seconds: number): void {
  const success = ok ? 'true' : 'false';
  m.reloadExecuted.inc({ success });
  m.reloadExecutedByNamespace?.inc({ success, namespace });
  m.action.inc({ workload_kind: kind, result: ok ? 'success' : 'error' });
  m.actionLatency.observe({ workload_kind: kind }, seconds);
}

export function createWatcherMetrics(options: { countByNamespace?: boolean } = {}): WatcherMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'configstamp_watcher_' });
  const registers = [registry];
  return {
    registry,
    rollouts: new Counter({
      name: 'configstamp_watcher_rollouts_total',
      help: 'Rollouts started by a stamp patch, by workload kind, namespace and reason (source-changed, source-created, source-deleted).',
      labelNames: ['kind', 'namespace', 'reason'],
      registers,
    }),
    adoptions: new Counter({
      name: 'configstamp_watcher_adoptions_total',
      help: 'Workloads whose current digests were recorded on their metadata (no rollout).',
      labelNames: ['kind', 'namespace'],
      registers,
    }),
    changeToPatch: new Histogram({
      name: 'configstamp_watcher_change_to_patch_seconds',
      help: 'From the first event of a change to the rollout patch, debounce included.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 30, 60],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'configstamp_watcher_reconcile_errors_total',
      help: 'Reconciles that failed, by error code.',
      labelNames: ['code'],
      registers,
    }),
    queueDepth: new Gauge({ name: 'configstamp_watcher_queue_depth', help: 'Workloads waiting to be reconciled.', registers }),
    watchRestarts: new Counter({
      name: 'configstamp_watcher_watch_restarts_total',
      help: 'Relists after a watch ended badly, by resource and reason (gone, error).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    heldBack: new Counter({
      name: 'configstamp_watcher_held_back_rollouts_total',
      help: 'Rollouts the churn guard held back (applied later with the latest state).',
      labelNames: ['kind', 'namespace'],
      registers,
    }),
    budgetInProgress: new Gauge({
      name: 'configstamp_watcher_rollout_budget_in_progress',
      help: 'Tracked workloads rolling now, as the rollout budget counts them (--rollout-budget).',
      registers,
    }),
    budgetWaiting: new Gauge({
      name: 'configstamp_watcher_rollout_budget_waiting',
      help: 'Rollouts waiting for a slot of the rollout budget.',
      registers,
    }),
    windowHolds: new Counter({
      name: 'configstamp_watcher_window_holds_total',
      help: 'Rollouts a restart window began to hold (reason closed: outside the window; invalid: the policy cannot be read).',
      labelNames: ['kind', 'namespace', 'reason'],
      registers,
    }),
    windowHeld: new Gauge({
      name: 'configstamp_watcher_window_held_workloads',
      help: 'Workloads whose rollout waits for their restart window now.',
      registers,
    }),
    waveHolds: new Counter({
      name: 'configstamp_watcher_wave_holds_total',
      help: 'Rollouts an earlier wave began to hold (reason waiting: not complete yet; halted: a workload of it failed).',
      labelNames: ['kind', 'namespace', 'reason'],
      registers,
    }),
    waveHeld: new Gauge({
      name: 'configstamp_watcher_wave_held_workloads',
      help: 'Workloads whose rollout waits for an earlier wave now (waiting or halted).',
      registers,
    }),
    isLeader: new Gauge({ name: 'configstamp_watcher_is_leader', help: '1 while this replica holds the leader Lease (and may write).', registers }),
    patches: new Counter({
      name: 'configstamp_watcher_patches_total',
      help: 'Merge patches sent to workloads (rollouts and adoptions).',
      labelNames: ['kind'],
      registers,
    }),
    notifications: new Counter({
      name: 'configstamp_watcher_notifications_total',
      help: 'Notify mode (--webhook-url): changes POSTed instead of rolled, by workload kind and namespace.',
      labelNames: ['kind', 'namespace'],
      registers,
    }),
    alerts: new Counter({
      name: 'configstamp_watcher_alerts_total',
      help: 'Rollout alerts by result: sent, failed (after every attempt), dropped (queue full).',
      labelNames: ['result'],
      registers,
    }),
    reloader: createReloaderMetrics(registers, options.countByNamespace === true),
  };
}

function createReloaderMetrics(registers: Registry[], countByNamespace: boolean): ReloaderMetrics {
  const reloadExecuted = new Counter({
    name: 'reloader_reload_executed_total',
    help: "Reloader's name: rollouts attempted, by success (true/false).",
    labelNames: ['success'],
    registers,
  });
  // Reloader starts both series at 0, so rate() and absent() work from the first scrape.
  reloadExecuted.inc({ success: 'true' }, 0);
  reloadExecuted.inc({ success: 'false' }, 0);
  return {
    reloadExecuted,
    reloadExecutedByNamespace: countByNamespace
      ? new Counter({
          name: 'reloader_reload_executed_total_by_namespace',
          help: "Reloader's name: rollouts attempted, by success and namespace.",
          labelNames: ['success', 'namespace'],
          registers,
        })
      : undefined,
    action: new Counter({
      name: 'reloader_action_total',
      help: "Reloader's name: rollouts attempted, by workload kind and result (success/error).",
      labelNames: ['workload_kind', 'result'],
      registers,
    }),
    actionLatency: new Histogram({
      name: 'reloader_action_latency_seconds',
      help: "Reloader's name: how long the rollout write took, by workload kind.",
      labelNames: ['workload_kind'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
  };
}
