/**
 * `configstamp watcher`: parse config once, load the hash key, start list + watch of namespaces,
 * sources (metadata only) and workloads, elect a leader, and reconcile. First signal: stop taking
 * work, let in-flight reconciles finish, hand the lease back; second signal: exit at once.
 */
import { SOURCE_KINDS, SOURCE_KIND_TABLE, WORKLOAD_KINDS } from '../shared/core/kinds.js';
import { METADATA_ACCEPT, METADATA_LIST_ACCEPT } from '../shared/kube/client.js';
import { connect } from '../shared/kube/connect.js';
import { ensureHashKey } from '../shared/kube/hashkey.js';
import { namespacePath, sourceFieldSelector, sourcePath, workloadPath } from '../shared/kube/paths.js';
import { fetchSources } from '../shared/kube/sources.js';
import { errorMessage } from '../shared/errors.js';
import { installSignalHandlers } from '../shared/lifecycle.js';
import { createLogger } from '../shared/log.js';
import { startOpsServer } from '../shared/ops-server.js';
import { ChurnGuard } from './churn-guard.js';
import { systemClock } from './clock.js';
import { parseWatcherConfig, watcherHelp } from './config.js';
import type { WatcherConfig } from './config.js';
import { AlertSender } from './alert-sender.js';
import { formatAlert, formatNotification } from './alerts.js';
import type { Logger } from '../shared/log.js';
import type { WatcherMetrics } from './metrics.js';
import type { ReconcileDeps } from './reconcile.js';
import { Controller } from './controller.js';
import { compactSource } from './cache.js';
import { pruneWorkload } from '../shared/core/prune.js';
import { SourceDigests } from './digests.js';
import { kubeEventSink } from './events.js';
import { Informer } from '../shared/kube/informer.js';
import { LeaderElector } from './leader.js';
import { kubeLeaseStore } from './lease-store.js';
import { createWatcherMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { TokenBucket } from './rate-limiter.js';
import { kubeWorkloadApi, reconcileWorkload } from './reconcile.js';
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
  const hashKey = await untilStopped(lifecycle.stopped, log, 'loading the hash key', () => ensureHashKey(client, { namespace: config.namespace, name: config.hashKeySecret }));
  if (hashKey === undefined) {
    await ops.close();
    client.close();
    log.info('stopped');
    return 0;
  }
  const { key, created } = hashKey;
  log.info({ secret: `${config.namespace}/${config.hashKeySecret}`, created }, 'hash key loaded');

  const queue = new WorkQueue({
    clock, debounceMs: config.debounceMs, workers: config.workers, retryBaseMs: config.retryBaseMs, retryMaxMs: config.retryMaxMs,
    onDepth: (depth) => metrics.queueDepth.set(depth),
  });
  const digests = new SourceDigests(key, (namespace, keys) =>
    fetchSources(client, namespace, keys, { concurrency: config.fetchConcurrency, deadlineMs: config.fetchDeadlineMs }));
  const guard = new ChurnGuard(config.minRolloutIntervalMs, clock);
  const progress = new SyncProgress(log, clock);
  const controller = new Controller({
    queue, digests, guard, policy: config.policy, log,
    onRestart: (resource, reason) => metrics.watchRestarts.inc({ resource, reason }),
    onSyncAll: (keys) => progress.begin(keys),
    onRemoved: (key) => progress.done(key),
  });

  const elector = config.leaderElect
    ? new LeaderElector(kubeLeaseStore(client, config.namespace, config.leaseName), {
      identity: config.identity, leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs, clock, log,
    })
    : undefined;
  const isLeader = (): boolean => elector === undefined || elector.isLeader();
  const reconcileDeps = {
    cache: controller.cache, digests, api: kubeWorkloadApi(client), policy: config.policy, rollOnDelete: config.rollOnDelete,
    guard, limiter: new TokenBucket(config.patchQps, config.patchBurst, clock), events: kubeEventSink(client, log, config.identity),
    metrics, log, clock, isLeader, ...outbound(config, log, metrics),
  };

  const informerOptions = { watchTimeoutMs: config.watchTimeoutMs };
  // A scoped install (--namespaces) lists and watches each namespace on its own, with Roles only;
  // Namespace objects are cluster-scoped, so their labels are not read then.
  const scopes: readonly (string | undefined)[] = config.namespaces.length === 0 ? [undefined] : config.namespaces;
  const informers = [
    ...(config.namespaces.length === 0
      ? [new Informer(client, { resource: 'namespaces', path: namespacePath(), listAccept: METADATA_LIST_ACCEPT, watchAccept: METADATA_ACCEPT }, controller.namespaceHandlers(), log, informerOptions)]
      : []),
    ...scopes.flatMap((ns) => SOURCE_KINDS.map((kind) => new Informer(client, {
      resource: SOURCE_KIND_TABLE[kind].plural, path: sourcePath(kind, ns), listAccept: METADATA_LIST_ACCEPT, watchAccept: METADATA_ACCEPT,
      fieldSelector: sourceFieldSelector(kind), transform: compactSource,
    }, controller.sourceHandlers(kind, ns), log, informerOptions))),
    ...scopes.flatMap((ns) => WORKLOAD_KINDS.filter((k) => !config.policy.ignoredWorkloadKinds.has(k.kind)).map((kind) => new Informer(client, {
      resource: kind.plural, path: workloadPath(kind, ns), optional: kind.crd, transform: (o) => pruneWorkload(kind, o),
    }, controller.workloadHandlers(kind, ns), log, informerOptions))),
  ];
  if (config.namespaces.length > 0) log.info({ namespaces: config.namespaces }, 'scoped install: watching only these namespaces');
  isReady = () => controller.isSynced;

  const abort = new AbortController();
  const running = informers.map((i) => i.run(abort.signal));
  const syncTimer = setInterval(() => {
    if (!informers.every((i) => i.hasSynced)) return;
    clearInterval(syncTimer);
    void (async () => {
      const started = clock.now();
      try {
        const warm = await warmDigests(client, controller.cache, digests, key, config.policy, log, DEFAULT_WARMUP, abort.signal);
        log.info({ ...warm, ms: clock.now() - started }, 'warmed the digest cache from lists');
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'warm-up failed; sources will be read one by one');
      }
      controller.markSynced();
      log.info({ workloads: controller.cache.workloadKeys().length, tracked: controller.index.size }, 'synced: listed namespaces, sources and workloads');
    })();
  }, 20);

  let exitCode = 0;
  const startLeading = (): void => {
    metrics.isLeader.set(1);
    log.info({ identity: config.identity }, 'leading: reconciling every workload (restart sync)');
    queue.start(async (k, context) => {
      const result = await reconcileWorkload(reconcileDeps, k, context);
      if (!(result && 'retry' in result)) progress.done(k);
      return result;
    });
    controller.activate();
  };
  const electing = elector === undefined
    ? (startLeading(), Promise.resolve())
    : elector.run(abort.signal, startLeading, (reason) => {
      metrics.isLeader.set(0);
      if (reason !== 'shutting down') {
        log.error({ reason }, 'lost leadership: exiting so a fresh replica stands by');
        exitCode = 1;
        lifecycle.stop('lost leadership');
      }
    });

  const reason = await lifecycle.stopped;
  log.info({ reason }, 'shutting down');
  clearInterval(syncTimer);
  const drained = queue.shutDown();
  await Promise.race([drained, new Promise((r) => setTimeout(r, config.shutdownTimeoutMs))]);
  abort.abort();
  await Promise.race([Promise.allSettled([electing, ...running]), new Promise((r) => setTimeout(r, 2_000))]);
  reconcileDeps.flushAlerts?.();
  await ops.close();
  client.close();
  log.info('stopped');
  return exitCode;
}

/** Notify mode's notifier and the rollout alerts, as the config asks. */
function outbound(config: WatcherConfig, log: Logger, metrics: WatcherMetrics): Pick<ReconcileDeps, 'notifier' | 'alerts'> & { flushAlerts?: () => void } {
  if (config.webhookUrl !== '') {
    log.info('notify mode (--webhook-url): changes are posted, nothing is rolled');
    const sender = new AlertSender({
      url: config.webhookUrl, timeoutMs: 10_000, attempts: 1, retryBaseMs: 1, retryMaxMs: 1, capacity: 1,
      log: log.child({ part: 'notify' }), onResult: () => undefined,
    });
    return {
      notifier: {
        async deliver(workload, changes) {
          for (const change of changes) await sender.postNow(formatNotification(workload, change, new Date()));
        },
      },
    };
  }
  const alerts = config.alerts;
  if (alerts === null) return {};
  const sender = new AlertSender({
    url: alerts.url, proxy: alerts.proxy || undefined, timeoutMs: alerts.timeoutMs, attempts: alerts.attempts, retryBaseMs: 500, retryMaxMs: 30_000,
    capacity: alerts.queueSize, log: log.child({ part: 'alerts' }), onResult: (result) => metrics.alerts.inc({ result }),
  });
  log.info({ sink: alerts.sink, host: new URL(alerts.url).host }, 'alerts on: every rollout is posted');
  return { alerts: (alert) => sender.send(formatAlert(alerts, alert)), flushAlerts: () => sender.close() };
}

/**
 * Runs `step` until it succeeds, with backoff (1 s doubling to 30 s), logging each failure; gives
 * up only when the process is told to stop (undefined then).
 */
async function untilStopped<T>(stopped: Promise<string>, log: Logger, what: string, step: () => Promise<T>): Promise<T | undefined> {
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
