/**
 * Benchmark: change → patch latency, p50/p99 over 200 changes at --debounce=0, in a namespace of
 * 10 workloads and in one of 2,000 (the same run, the same control plane and watcher). Each change
 * is a PATCH of the ConfigMap one Deployment consumes; the clock stops when a watch on that
 * Deployment shows the new stamp, so the API server's own write and watch latency are included.
 * The bulk of the 2,000 are suspended CronJobs (tracked, each consuming its own ConfigMap), so
 * kube-controller-manager is not busy making 2,000 ReplicaSets while we measure.
 *
 *   node --import tsx test/bench/watcher-latency.ts
 */
import { pathToFileURL } from 'node:url';
import type { KubeClient } from '../../shared/kube/client.js';
import { benchCluster, createAll, percentile, startBenchWatcher, trackedCronJob, trackedDeployment } from './watcher-harness.js';
import { waitFor } from '../cluster/readiness.js';

async function fill(client: KubeClient, ns: string, total: number): Promise<void> {
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  const bulk = total - 1;
  await createAll(client, `/api/v1/namespaces/${ns}/configmaps`, [
    { metadata: { name: 'target-cfg' }, data: { k: '0' } },
    ...Array.from({ length: bulk }, (_, i) => ({ metadata: { name: `cfg-${i}` }, data: { k: '0' } })),
  ]);
  await createAll(client, `/apis/apps/v1/namespaces/${ns}/deployments`, [trackedDeployment('target', 'target-cfg')]);
  const small = Math.min(bulk, 9);
  await createAll(
    client,
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    Array.from({ length: small }, (_, i) => trackedDeployment(`d-${i}`, `cfg-${i}`)),
  );
  await createAll(
    client,
    `/apis/batch/v1/namespaces/${ns}/cronjobs`,
    Array.from({ length: bulk - small }, (_, i) => trackedCronJob(`c-${i}`, `cfg-${i + small}`)),
  );
}

async function measure(client: KubeClient, ns: string, changes: number): Promise<{ p50: number; p99: number; max: number }> {
  let stamp = '';
  let onStamp: (() => void) | undefined;
  const abort = new AbortController();
  const watching = client
    .watch(`/apis/apps/v1/namespaces/${ns}/deployments`, { query: { fieldSelector: 'metadata.name=target' }, signal: abort.signal }, (e) => {
      const next = (e.object as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }).spec?.template?.metadata?.annotations?.[
        'configstamp.io/stamp'
      ];
      if (next !== undefined && next !== stamp) {
        stamp = next;
        onStamp?.();
      }
    })
    .catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  const latencies: number[] = [];
  for (let i = 1; i <= changes; i++) {
    // Resolved by the watch callback the moment the Deployment shows a new stamp (no polling).
    const changed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`change ${i}: no new stamp within 30 s`)), 30_000);
      onStamp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const t0 = performance.now();
    await client.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/target-cfg`, {
      body: { data: { k: String(i) } },
      contentType: 'application/merge-patch+json',
    });
    await changed;
    latencies.push(performance.now() - t0);
  }
  abort.abort();
  await watching;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) };
}

export async function run(options: { changes?: number; large?: number } = {}): Promise<Record<string, unknown>> {
  const changes = options.changes ?? 200;
  const large = options.large ?? 2_000;
  const bench = await benchCluster();
  try {
    await fill(bench.client, 'small', 10);
    await fill(bench.client, 'large', large);
    const watcher = await startBenchWatcher(bench.cluster, ['--debounce=0', '--min-rollout-interval=0', '--patch-qps=1000', '--patch-burst=1000']);
    try {
      const total = 10 + large;
      await waitFor('every workload adopted', async () => watcher.records().filter((r) => String(r.msg).startsWith('adopted')).length >= total, {
        timeoutMs: 300_000,
      });
      const small = await measure(bench.client, 'small', changes);
      const big = await measure(bench.client, 'large', changes);
      return {
        changes,
        workloads: { small: 10, large },
        smallMs: small,
        largeMs: big,
        p50Ratio: Math.round((big.p50 / small.p50) * 100) / 100,
        p99Ratio: Math.round((big.p99 / small.p99) * 100) / 100,
      };
    } finally {
      await watcher.stop();
    }
  } finally {
    await bench.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
