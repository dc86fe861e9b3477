/**
 * Benchmark: one ConfigMap consumed by 1,000 Deployments. After adoption, the ConfigMap changes
 * once; every Deployment must be patched, and the patch rate must never exceed the token bucket
 * (--patch-qps, --patch-burst): over any interval t, at most burst + qps·t patches sent. A patch
 * was sent at its log line's time (millisecond timestamps, written when the API server has
 * answered) less the line's `patchMs`. Answer times are reported too: with several workers, a
 * slow answer and a fast one can arrive together, so they bunch more than the sends.
 *
 *   node --import tsx test/bench/watcher-fanout.ts
 */
import { pathToFileURL } from 'node:url';
import { benchCluster, createAll, startBenchWatcher, trackedDeployment } from './watcher-harness.js';
import { waitFor } from '../cluster/readiness.js';

/** The largest excess over burst + qps·t across all windows between two patch times. */
function worstExcess(times: readonly number[], qps: number, burst: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = -Infinity;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const count = j - i + 1;
      worst = Math.max(worst, count - (burst + (qps * (sorted[j]! - sorted[i]!)) / 1000));
    }
  }
  return worst;
}

export async function run(options: { deployments?: number; qps?: number; burst?: number } = {}): Promise<Record<string, unknown>> {
  const n = options.deployments ?? 1_000;
  const qps = options.qps ?? 100;
  const burst = options.burst ?? 20;
  const bench = await benchCluster();
  try {
    const { client } = bench;
    await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'fanout' } } });
    await client.request('POST', '/api/v1/namespaces/fanout/configmaps', { body: { metadata: { name: 'shared' }, data: { k: '0' } } });
    await createAll(
      client,
      '/apis/apps/v1/namespaces/fanout/deployments',
      Array.from({ length: n }, (_, i) => trackedDeployment(`app-${i}`, 'shared')),
    );
    const watcher = await startBenchWatcher(bench.cluster, [
      '--debounce=200ms',
      `--patch-qps=${qps}`,
      `--patch-burst=${burst}`,
      '--min-rollout-interval=0',
      '--workers=8',
    ]);
    try {
      await waitFor('every Deployment adopted', async () => watcher.records().filter((r) => String(r.msg).startsWith('adopted')).length >= n, {
        timeoutMs: 300_000,
      });
      const t0 = Date.now();
      await client.request('PATCH', '/api/v1/namespaces/fanout/configmaps/shared', { body: { data: { k: '1' } }, contentType: 'application/merge-patch+json' });
      const rollouts = () => watcher.records().filter((r) => r.msg === 'rollout: stamp patched');
      await waitFor('every Deployment patched', async () => rollouts().length >= n, { timeoutMs: 300_000 });
      const allMs = Date.now() - t0;
      const list = await client.request<{ items: { spec: { template: { metadata: { annotations?: Record<string, string> } } } }[] }>(
        'GET',
        '/apis/apps/v1/namespaces/fanout/deployments',
      );
      const stamped = list.items.filter((d) => d.spec.template.metadata.annotations?.['configstamp.io/stamp']).length;
      const adoptions = watcher.records().filter((r) => String(r.msg).startsWith('adopted'));
      const answered = (records: readonly Record<string, unknown>[]): number[] => records.map((r) => Date.parse(String(r.time)));
      const sent = (records: readonly Record<string, unknown>[]): number[] =>
        records.map((r) => {
          if (typeof r.patchMs !== 'number') throw new Error(`a patch line without patchMs: ${JSON.stringify(r)}`);
          return Date.parse(String(r.time)) - r.patchMs;
        });
      const excess = (times: readonly number[]): number => Math.round(worstExcess(times, qps, burst) * 100) / 100;
      const times = sent(rollouts());
      const worstSent = Math.max(excess(times), excess(sent(adoptions)));
      return {
        deployments: n,
        qps,
        burst,
        patched: rollouts().length,
        stampedOnTemplate: stamped,
        changeToAllPatchedMs: allMs,
        achievedQps: Math.round((n / ((Math.max(...times) - Math.min(...times)) / 1000)) * 10) / 10,
        worstExcessSentRollouts: excess(times),
        worstExcessSentAdoptions: excess(sent(adoptions)),
        worstExcessAnsweredRollouts: excess(answered(rollouts())),
        worstExcessAnsweredAdoptions: excess(answered(adoptions)),
        // Send times are whole milliseconds, so a window can look a fraction of a patch fuller.
        limitNeverExceeded: worstSent <= 1,
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
