/**
 * `configstamp watcher`: parse config once, load the hash key, start list + watch of namespaces,
 * sources (metadata only) and workloads, elect a leader, and reconcile. First signal: stop taking
 * work, let in-flight reconciles finish, hand the lease back; second signal: exit at once.
 */
import { SOURCE_KINDS, WORKLOAD_KINDS } from '../shared/core/kinds.js';
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
  const log = createLogger(config.logLevel, 'watcher');
  const lifecycle = installSignalHandlers(log);
  const client = await connect(config.kubeconfig, 'configstamp-watcher', env);
  const { key, created } = await ensureHashKey(client, { namespace: config.namespace, name: config.hashKeySecret });
  log.info({ secret: `${config.namespace}/${config.hashKeySecret}`, created }, 'hash key loaded');

  const metrics = createWatcherMetrics();
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
    metrics, log, clock, isLeader,
  };

  const informerOptions = { watchTimeoutMs: config.watchTimeoutMs };
  const informers = [
    new Informer(client, { resource: 'namespaces', path: namespacePath(), listAccept: METADATA_LIST_ACCEPT, watchAccept: METADATA_ACCEPT }, controller.namespaceHandlers(), log, informerOptions),
    ...SOURCE_KINDS.map((kind) => new Informer(client, {
      resource: kind === 'Secret' ? 'secrets' : 'configmaps', path: sourcePath(kind), listAccept: METADATA_LIST_ACCEPT, watchAccept: METADATA_ACCEPT,
      fieldSelector: sourceFieldSelector(kind), transform: compactSource,
    }, controller.sourceHandlers(kind), log, informerOptions)),
    ...WORKLOAD_KINDS.filter((k) => !config.policy.ignoredWorkloadKinds.has(k.kind)).map((kind) => new Informer(client, {
      resource: kind.plural, path: workloadPath(kind), optional: kind.group === 'argoproj.io', transform: (o) => pruneWorkload(kind, o),
    }, controller.workloadHandlers(kind), log, informerOptions)),
  ];

  const ops = await startOpsServer({ host: config.healthHost, port: config.healthPort, registry: metrics.registry, isReady: () => controller.isSynced });
  log.info({ port: ops.port, host: config.healthHost }, 'ops serving');

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
  await ops.close();
  client.close();
  log.info('stopped');
  return exitCode;
}
