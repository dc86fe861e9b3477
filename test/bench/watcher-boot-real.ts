/**
 * Benchmark: boot list-and-compare with 5,000 workloads and 10,000 sources, against the real
 * loopback control plane and with the watcher as a real process (the counterpart of
 * watcher-boot.ts, which runs the controller in process against synthesized lists). The workloads
 * are Deployments with `spec.paused: true`: kube-controller-manager creates no ReplicaSet for a
 * paused Deployment, so it stays idle and the objects are what the watcher sees in production.
 * Each workload consumes its own ConfigMap and its own Secret (small data), spread over 50
 * namespaces; everything is created through the API with bounded concurrency.
 *
 * In the same run: a watcher started once the namespaces exist but before any source or workload
 * (baseline RSS at idle, then stopped), then a second watcher started after the 15,000 objects
 * exist. Measured for the second: spawn → "synced" log line, spawn → the last "adopted" log line
 * (every workload adopted), the time from the lists' return (the warm-up log line, less its own
 * duration) to "restart sync: every workload reconciled once" (the "time after the lists
 * return"), and its VmRSS and VmHWM (peak) from /proc after a settling pause. The watcher runs
 * compiled (dist/), as in production. Then a third watcher is started over the now stamped
 * workloads (a restart with nothing changed): time from its lists' return to the end of its
 * restart sync, and its patches (must be 0).
 * Adoptions are patches, so the patch limiter is raised (--patch-qps, --patch-burst) to measure
 * the boot rather than the default 20 patches/s.
 *
 *   node --import tsx test/bench/watcher-boot-real.ts
 */
import { pathToFileURL } from 'node:url';
import { mapBounded } from '../../shared/kube/sources.js';
import { benchCluster, createAll, memory, startBenchWatcher } from './watcher-harness.js';
import type { Memory } from './watcher-harness.js';
import { sleep } from '../support/poll.js';
import type { ConfigstampProcess } from '../support/process.js';

/** V8 heap used and committed (MB), from the watcher's own /metrics (prom-client default metrics). */
async function heapOf(watcher: { records(): Record<string, unknown>[] }): Promise<{ usedMB: number; totalMB: number }> {
  const port = watcher.records().find((r) => r.msg === 'ops serving')?.port;
  const text = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
  const mb = (name: string): number => Math.round((Number(new RegExp(`^configstamp_watcher_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1048576) * 10) / 10;
  return { usedMB: mb('nodejs_heap_size_used_bytes'), totalMB: mb('nodejs_heap_size_total_bytes') };
}

/**
 * Waits for a watcher's restart sync to end; the time from its lists' return (the warm-up log
 * line's time less the warm-up's own duration) to that end, and the warm-up line itself.
 */
async function restartSyncAfterLists(watcher: ConfigstampProcess): Promise<{ ms: number; warm: Record<string, unknown> }> {
  const end = await watcher.waitFor((r) => r.msg === 'restart sync: every workload reconciled once', 120_000);
  const warm = watcher.records().find((r) => r.msg === 'warmed the digest cache from workload records and lists') ?? {};
  return { ms: Date.parse(String(end.time)) - (Date.parse(String(warm.time)) - Number(warm.ms)), warm };
}

function pausedDeployment(name: string, configMap: string, secret: string): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations: { 'configstamp.io/track': 'true' } },
    spec: {
      paused: true,
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'app:1',
              envFrom: [{ configMapRef: { name: configMap } }, { secretRef: { name: secret } }],
            },
          ],
        },
      },
    },
  };
}

export async function run(
  options: { workloads?: number; namespaces?: number; concurrency?: number; settleMs?: number } = {},
): Promise<Record<string, unknown>> {
  const n = options.workloads ?? 5_000;
  const namespaces = options.namespaces ?? 50;
  const concurrency = options.concurrency ?? 16;
  const settleMs = options.settleMs ?? 3_000;
  const watcherArgs = ['--workers=16', '--patch-qps=1000', '--patch-burst=100', '--debounce=0'];
  const benchStarted = Date.now();
  const bench = await benchCluster();
  try {
    const { client } = bench;
    const nsNames = Array.from({ length: namespaces }, (_, i) => `ns-${i}`);
    await createAll(
      client,
      '/api/v1/namespaces',
      nsNames.map((name) => ({ metadata: { name } })),
      concurrency,
    );

    // Baseline: the same watcher command with nothing to track, idle after sync.
    const baseline = await startBenchWatcher(bench.cluster, watcherArgs);
    await sleep(settleMs);
    const idle = memory(baseline.child.pid!);
    await baseline.stop();

    const byNamespace = (make: (i: number) => unknown): Map<string, unknown[]> => {
      const out = new Map<string, unknown[]>(nsNames.map((ns) => [ns, []]));
      for (let i = 0; i < n; i++) out.get(`ns-${i % namespaces}`)!.push(make(i));
      return out;
    };
    const createKind = async (path: (ns: string) => string, make: (i: number) => unknown): Promise<void> => {
      // One bounded pool over all objects, whatever their namespace.
      const items = [...byNamespace(make)].flatMap(([ns, bodies]) => bodies.map((body) => ({ ns, body })));
      await mapBounded(items, concurrency, ({ ns, body }) => client.request('POST', path(ns), { body }));
    };
    const createStarted = performance.now();
    await createKind(
      (ns) => `/api/v1/namespaces/${ns}/configmaps`,
      (i) => ({ metadata: { name: `cm-${i}` }, data: { key: `value of cm-${i}` } }),
    );
    await createKind(
      (ns) => `/api/v1/namespaces/${ns}/secrets`,
      (i) => ({ metadata: { name: `sec-${i}` }, type: 'Opaque', stringData: { key: `value of sec-${i}` } }),
    );
    await createKind(
      (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
      (i) => pausedDeployment(`app-${i}`, `cm-${i}`, `sec-${i}`),
    );
    const createMs = Math.round(performance.now() - createStarted);

    const spawnedAt = Date.now();
    const watcher = await startBenchWatcher(bench.cluster, watcherArgs);
    try {
      const syncedMs = Date.now() - spawnedAt;
      const synced = watcher.records().find((r) => r.msg === 'synced: listed namespaces, sources and workloads') ?? {};
      let adopted = 0;
      let scanned = 0;
      let lastAdoption = 0;
      let peakDuringBoot: Memory = memory(watcher.child.pid!);
      const deadline = Date.now() + 300_000;
      while (adopted < n) {
        if (Date.now() > deadline) throw new Error(`timed out: ${adopted} / ${n} adopted`);
        if (watcher.child.exitCode !== null) throw new Error(`watcher exited:\n${watcher.lines.slice(-20).join('\n')}`);
        for (; scanned < watcher.lines.length; scanned++) {
          const line = watcher.lines[scanned]!;
          if (!line.includes('"adopted:')) continue;
          adopted++;
          lastAdoption = Math.max(lastAdoption, Date.parse(String((JSON.parse(line) as { time?: string }).time)));
        }
        const now = memory(watcher.child.pid!);
        if (now.rssMB > peakDuringBoot.rssMB) peakDuringBoot = now;
        await sleep(200);
      }
      const install = await restartSyncAfterLists(watcher);
      const atAllAdopted = memory(watcher.child.pid!);
      await sleep(settleMs);
      const settled = memory(watcher.child.pid!);
      const heap = await heapOf(watcher);
      const rsList = await client.request<{ items: unknown[]; metadata: { remainingItemCount?: number } }>('GET', '/apis/apps/v1/replicasets?limit=1');
      const replicaSets = rsList.items.length + (rsList.metadata.remainingItemCount ?? 0);
      const rollouts = watcher.lines.filter((l) => l.includes('"rollout: stamp patched"')).length;
      await watcher.stop();

      // A restart with nothing changed: every workload is stamped now, so the restart sync only
      // compares (warm-up lists, digests, decisions) and must write nothing.
      const again = await startBenchWatcher(bench.cluster, watcherArgs);
      let restart: Record<string, unknown>;
      try {
        restart = {
          listsReturnedToAllReconciledMs: (await restartSyncAfterLists(again)).ms,
          patches: again.lines.filter((l) => l.includes('"adopted:') || l.includes('"rollout: stamp patched"')).length,
          rssMB: memory(again.child.pid!).rssMB,
        };
      } finally {
        await again.stop();
      }
      return {
        workloadKind: 'Deployment (spec.paused: true, no ReplicaSets)',
        workloads: n,
        configMaps: n,
        secrets: n,
        namespaces,
        createConcurrency: concurrency,
        createMs,
        watcherArgs,
        syncedLog: { workloads: synced.workloads, tracked: synced.tracked },
        spawnToSyncedMs: syncedMs,
        spawnToAllAdoptedMs: lastAdoption - spawnedAt,
        adoptions: adopted,
        rollouts,
        replicaSets,
        // Nothing changes during this benchmark: any rollout is a bug, shown here to be chased.
        unexpectedRolloutLines: watcher.lines.filter((l) => l.includes('"rollout: stamp patched"')).slice(0, 5),
        warmup: { lists: install.warm.lists, digested: install.warm.digested, ms: install.warm.ms },
        listsReturnedToAllReconciledMs: install.ms,
        baselineIdle: idle,
        afterBoot: { atAllAdoptedRssMB: atAllAdopted.rssMB, settledRssMB: settled.rssMB, peakHwmMB: settled.hwmMB, maxSampledRssMB: peakDuringBoot.rssMB },
        growthMB: Math.round((settled.rssMB - idle.rssMB) * 10) / 10,
        settledHeap: heap,
        restartNothingChanged: restart,
        totalMs: Date.now() - benchStarted,
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
