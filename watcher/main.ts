/**
 * `configstamp watcher`: parse config once, build the parts, run them, stop them. The start-up
 * sequence (waiting for the API server and the lists, warm-up) is startup.ts, the informer table
 * informers.ts, the outbound senders outbound.ts. First signal: stop taking work, let in-flight
 * reconciles finish, hand the lease back; second signal: exit at once.
 */
import { connect } from '../shared/kube/connect.js';
import { ensureHashKey } from '../shared/kube/hashkey.js';
import { fetchSources } from '../shared/kube/sources.js';
import { installSignalHandlers } from '../shared/lifecycle.js';
import { createLogger } from '../shared/log.js';
import { startOpsServer } from '../shared/ops-server.js';
import { ChurnGuard } from './churn-guard.js';
import { systemClock } from './clock.js';
import { parseWatcherConfig, watcherHelp } from './config.js';
import { EventRouter } from './event-router.js';
import { DigestCache, foldedSourceFetcher } from './digest-cache.js';
import { kubeEventRecorder } from './event-recorder.js';
import { buildInformers } from './informers.js';
import { startHeapWatch } from './heap-watch.js';
import { LeaderElector } from './leader.js';
import { kubeLeaseStore } from './lease-store.js';
import { createWatcherMetrics } from './metrics.js';
import { outbound } from './outbound.js';
import { WorkQueue } from './queue.js';
import { TokenBucket } from './rate-limiter.js';
import { kubeWorkloadApi, reconcileWorkload } from './reconcile.js';
import { REPLAY_EVERY_MS, Recreator } from './recreate.js';
import { RolloutBudget } from './rollout-budget.js';
import { HoldNotices } from './hold-notices.js';
import { Waves } from './waves.js';
import { lead, syncAfterLists, untilStopped } from './startup.js';
import { SyncProgress } from './sync-progress.js';
import { DEFAULT_WARMUP, warmDigests } from './warmup.js';

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const config = parseWatcherConfig(argv, env);
  if (config === null) {
    console.log(watcherHelp());
    return 0;
  }
  const clock = systemClock;
  const log = createLogger(config.logLevel, 'watcher', undefined, config.logFormat);
  for (const warning of config.warnings) log.warn({ setting: warning.slice(0, warning.indexOf(':')) }, warning);
  const lifecycle = installSignalHandlers(log);
  const client = await connect(config.kubeconfig, 'configstamp-watcher', env);
  const metrics = createWatcherMetrics({ countByNamespace: config.metricsByNamespace });
  let isReady = (): boolean => false;
  // The probes answer from the start: live at once, ready only once synced. The API server may be
  // away when the watcher boots; it waits for it rather than exit and crash-loop.
  const ops = await startOpsServer({ host: config.healthHost, port: config.healthPort, registry: metrics.registry, isReady: () => isReady() });
  log.info({ port: ops.port, host: config.healthHost }, 'ops serving');
  const stopHeapWatch = startHeapWatch({ log });
  const hashKey = await untilStopped(lifecycle.stopped, log, 'loading the hash key', () =>
    ensureHashKey(client, { namespace: config.namespace, name: config.hashKeySecret }),
  );
  if (hashKey === undefined) {
    stopHeapWatch();
    await ops.close();
    client.close();
    log.info('stopped');
    return 0;
  }
  const { key, created } = hashKey;
  log.info({ secret: `${config.namespace}/${config.hashKeySecret}`, created }, 'hash key loaded');

  const queue = new WorkQueue({
    clock,
    debounceMs: config.debounceMs,
    debounceMaxMs: config.debounceMaxMs,
    workers: config.workers,
    retryBaseMs: config.retryBaseMs,
    retryMaxMs: config.retryMaxMs,
    onDepth: (depth) => metrics.queueDepth.set(depth),
  });
  // ConfigMaps and Secrets are read from the API; a pod-status source (CSI) is the router's fold.
  const digests = new DigestCache(
    key,
    foldedSourceFetcher(
      (namespace, keys) => fetchSources(client, namespace, keys, { concurrency: config.fetchConcurrency, deadlineMs: config.fetchDeadlineMs }),
      (kind, namespace, name): unknown => controller.podStatusObject(kind, namespace, name),
    ),
  );
  const guard = new ChurnGuard(config.minRolloutIntervalMs, clock);
  // Restart windows (shared/core/window.ts): the workloads they hold now, one Event each.
  const windows = new HoldNotices();
  // Health-gated waves (shared/core/waves.ts): off unless --wave-size or a source's or namespace's
  // wave-size. Made once the router (its cache and index) exists; its callbacks reach it from then.
  const waveNotices = new HoldNotices();
  const late: { waves?: Waves } = {};
  // Woken rollouts run at once: they waited their turn already.
  const budget = new RolloutBudget(config.rolloutBudget, {
    wake: (keys) => {
      for (const k of keys) queue.add(k, 0);
    },
    count: (inProgress, waiting) => {
      metrics.budgetInProgress.set(inProgress);
      metrics.budgetWaiting.set(waiting);
    },
    timeoutMs: config.rolloutBudgetTimeoutMs,
    now: () => clock.now(),
  });
  if (budget.enabled)
    log.info({ budget: budget.limit, timeoutMs: config.rolloutBudgetTimeoutMs }, 'rollout budget: at most this many tracked workloads rolling at once');
  const progress = new SyncProgress(log, clock, undefined, () => digests.reads);
  const controller = new EventRouter({
    queue,
    digests,
    guard,
    policy: config.policy,
    log,
    onRestart: (resource, reason) => metrics.watchRestarts.inc({ resource, reason }),
    onSyncAll: (keys) => progress.begin(keys),
    onRemoved: (key) => {
      progress.done(key);
      if (windows.release(key)) metrics.windowHeld.set(windows.size);
      late.waves?.forget(key);
      waveNotices.release(key);
      metrics.waveHeld.set(late.waves?.waitingCount ?? 0);
    },
    onWorkloadChanged: (key) => late.waves?.observe(key),
    budget,
  });
  const waves = new Waves({
    cache: controller.cache,
    digests,
    policy: config.policy,
    rollOnDelete: config.rollOnDelete,
    clock,
    defaults: { size: config.waveSize, timeoutMs: config.waveTimeoutMs },
    consumers: (kind, namespace, name) => controller.index.lookup(namespace, kind, name),
    concerns: (kind, namespace, name, key) => controller.index.concerns(namespace, kind, name, key),
    wake: (keys) => {
      for (const k of keys) queue.add(k, 0);
    },
  });
  late.waves = waves;

  const elector = config.leaderElect
    ? new LeaderElector(kubeLeaseStore(client, config.namespace, config.leaseName), {
        identity: config.identity,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        clock,
        log,
      })
    : undefined;
  const isLeader = (): boolean => elector === undefined || elector.isLeader();
  // Jobs are rolled by re-creation, recorded first so a crash half-way loses none (recreate.ts).
  const recreator = new Recreator(client, config.namespace, log);
  let replayTimer: NodeJS.Timeout | undefined;
  const reconcileDeps = {
    cache: controller.cache,
    digests,
    api: kubeWorkloadApi(client, recreator),
    policy: config.policy,
    rollOnDelete: config.rollOnDelete,
    guard,
    limiter: new TokenBucket(config.patchQps, config.patchBurst, clock),
    events: kubeEventRecorder(client, log, config.identity),
    metrics,
    log,
    clock,
    isLeader,
    ...outbound(config, log, metrics),
    budget,
    windows,
    waves: { gate: waves, notices: waveNotices },
  };

  const informers = buildInformers(client, controller, config, log);
  if (config.namespaces.length > 0) log.info({ namespaces: config.namespaces }, 'scoped install: watching only these namespaces');
  isReady = () => controller.isSynced;

  const abort = new AbortController();
  const running = informers.map((i) => i.run(abort.signal));
  const syncing = syncAfterLists(
    {
      informers,
      controller,
      log,
      clock,
      warm: () => warmDigests(client, controller.cache, digests, key, config.policy, log, DEFAULT_WARMUP, abort.signal),
    },
    lifecycle.stopped,
  );

  let exitCode = 0;
  const electing = lead({
    elector,
    signal: abort.signal,
    log,
    identity: config.identity,
    metrics,
    onLead: () => {
      queue.start(async (k, context) => {
        const result = await reconcileWorkload(reconcileDeps, k, context);
        if (!(result && 'retry' in result)) progress.done(k);
        return result;
      });
      controller.activate();
      const replay = (): void => {
        if (isLeader()) void recreator.replay();
      };
      replay();
      replayTimer = setInterval(replay, REPLAY_EVERY_MS);
      replayTimer.unref();
    },
    onLost: () => {
      exitCode = 1;
      lifecycle.stop('lost leadership');
    },
  });

  const reason = await lifecycle.stopped;
  log.info({ reason }, 'shutting down');
  clearInterval(replayTimer);
  const drained = queue.shutDown();
  await Promise.race([drained, new Promise((r) => setTimeout(r, config.shutdownTimeoutMs))]);
  abort.abort();
  await Promise.race([Promise.allSettled([electing, syncing, ...running]), new Promise((r) => setTimeout(r, 2_000))]);
  reconcileDeps.flushAlerts?.();
  stopHeapWatch();
  await ops.close();
  client.close();
  log.info('stopped');
  return exitCode;
}
