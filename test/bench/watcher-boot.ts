/**
 * Benchmark: boot list-and-compare with 5,000 workloads and 10,000 sources, in process. Creating
 * that many objects in the loopback API server on this box takes longer than the measurement
 * itself, so the list results are synthesized in the shape the API returns (Deployments;
 * ConfigMaps and Secrets as PartialObjectMetadata) and source reads and patches go to an
 * in-memory fake with an event-loop turn of latency. Measured: the time from "lists returned" to
 * every workload reconciled, and RSS, for a first install (every workload adopted) and for a
 * restart with nothing changed (every workload compared, nothing written).
 *
 *   node --import tsx test/bench/watcher-boot.ts
 */
import { pathToFileURL } from 'node:url';
import { workloadKindByName } from '../../shared/core/kinds.js';
import { DEFAULT_POLICY } from '../../shared/core/policy.js';
import { createLogger } from '../../shared/log.js';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { systemClock } from '../../watcher/clock.js';
import { EventRouter } from '../../watcher/event-router.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import { createWatcherMetrics } from '../../watcher/metrics.js';
import { WorkQueue } from '../../watcher/queue.js';
import { TokenBucket } from '../../watcher/rate-limiter.js';
import { reconcileWorkload } from '../../watcher/reconcile.js';

const DEPLOYMENT = workloadKindByName('Deployment')!;

function workloads(n: number, namespaces: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `app-${i}`, namespace: `ns-${i % namespaces}`, resourceVersion: '1', annotations: { 'configstamp.io/track': 'true' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: `app-${i}` } },
      template: {
        metadata: { labels: { app: `app-${i}` } },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'app:1',
              envFrom: [{ configMapRef: { name: `cm-${i}` } }, { secretRef: { name: `sec-${i}` } }],
            },
          ],
        },
      },
    },
  }));
}

function sourceMeta(prefix: string, n: number, namespaces: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({ metadata: { name: `${prefix}-${i}`, namespace: `ns-${i % namespaces}`, resourceVersion: '1' } }));
}

async function boot(objects: Map<string, Record<string, unknown>>, n: number, namespaces: number) {
  const log = createLogger('silent', 'bench');
  const metrics = createWatcherMetrics();
  const queue = new WorkQueue({ clock: systemClock, debounceMs: 0, workers: 16, retryBaseMs: 10, retryMaxMs: 100 });
  let reads = 0;
  const digests = new DigestCache(new Uint8Array(32).fill(1), async (_ns, keys) => {
    await new Promise((r) => setImmediate(r));
    reads += keys.length;
    return new Map(
      keys.map((k) => [
        `${k.kind}/${k.name}`,
        { metadata: { resourceVersion: '1' }, data: { key: Buffer.from(`value of ${k.name}`).toString(k.kind === 'Secret' ? 'base64' : 'utf8') } },
      ]),
    );
  });
  const guard = new ChurnGuard(0, systemClock);
  const controller = new EventRouter({ queue, digests, guard, policy: DEFAULT_POLICY, log });
  let patches = 0;
  let reconciled = 0;
  const deps = {
    cache: controller.cache,
    digests,
    policy: DEFAULT_POLICY,
    rollOnDelete: false,
    guard,
    limiter: new TokenBucket(1e9, 1e9, systemClock),
    events: { post: async () => undefined },
    metrics,
    log,
    clock: systemClock,
    isLeader: () => true,
    api: {
      get: async (w: { key: string }) => structuredClone(objects.get(w.key)),
      patch: async (w: { key: string }, body: unknown) => {
        patches++;
        const ann = (body as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {};
        const o = objects.get(w.key) as { metadata: { annotations: Record<string, string> } };
        Object.assign(o.metadata.annotations, ann);
      },
    },
  };
  // The lists have returned: from here on is what is measured.
  const t0 = performance.now();
  controller.namespaceHandlers().replace(
    Array.from({ length: namespaces }, (_, i) => ({ metadata: { name: `ns-${i}` } })),
    true,
  );
  controller.sourceHandlers('ConfigMap').replace(sourceMeta('cm', n, namespaces), true);
  controller.sourceHandlers('Secret').replace(sourceMeta('sec', n, namespaces), true);
  controller.workloadHandlers(DEPLOYMENT).replace(
    [...objects.values()].map((o) => structuredClone(o)),
    true,
  );
  controller.markSynced();
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  queue.start(async (key, ctx) => {
    const r = await reconcileWorkload(deps, key, ctx);
    if (++reconciled === n) done();
    return r;
  });
  controller.activate();
  await finished;
  const ms = Math.round(performance.now() - t0);
  await queue.shutDown();
  return { ms, patches, reads, rssMB: Math.round(process.memoryUsage().rss / 2 ** 20), heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) };
}

export async function run(options: { workloads?: number; namespaces?: number } = {}): Promise<Record<string, unknown>> {
  const n = options.workloads ?? 5_000;
  const namespaces = options.namespaces ?? 50;
  const objects = new Map(
    workloads(n, namespaces).map((o) => {
      const m = o.metadata as { name: string; namespace: string };
      return [`Deployment/${m.namespace}/${m.name}`, o];
    }),
  );
  const rssBeforeMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  const install = await boot(objects, n, namespaces);
  const restart = await boot(objects, n, namespaces);
  return { workloads: n, sources: 2 * n, rssBeforeMB, install, restart };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
