/**
 * Benchmark (issue #16 point 4): the watcher at 1,000, 5,000, 20,000 and 50,000 workloads with 2
 * and with 5 sources each, on one loopback control plane per source count, the cluster grown in
 * place from one size to the next. Sources of realistic sizes: each workload consumes its own
 * ConfigMap (about 2 KB, 40 keys) and Opaque Secret (3 keys); with 5, also a second ConfigMap (a
 * 4 KB properties file), a TLS Secret (`kubernetes.io/tls`, about 3 KB) and a second Opaque
 * Secret. One Helm release Secret (`helm.sh/release.v1`, 10 KB, consumed by nothing) per 10
 * workloads sits beside them, as Helm leaves them. Workloads are Deployments with `spec.paused:
 * true`, so kube-controller-manager stays idle (see watcher-boot-real.ts).
 *
 * At each size: a watcher adopts what is new (a first install, patch-bound by design), then is
 * stopped; a second watcher starts over the now recorded cluster, and is measured: spawn → synced,
 * lists returned → every workload reconciled (the restart sync, which must patch nothing), its
 * warm-up (digests seeded from the workloads' sealed records, lists) and the sources it read, VmRSS
 * settled and VmHWM (peak), and the change latency: 10 consumed ConfigMaps changed one at a time,
 * from the PATCH sent to the watcher's `rollout: stamp patched` line (`--debounce=0`). Bytes per
 * cached object is the settled RSS over the idle baseline (the same watcher on the empty cluster),
 * divided by the workloads and consumed sources it caches.
 *
 *   node --import tsx test/bench/watcher-scale.ts            (sizes 1000,5000,20000,50000)
 *   CONFIGSTAMP_SCALE_SIZES=1000,5000 node --import tsx test/bench/watcher-scale.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { KubeClient } from '../../shared/kube/client.js';
import { mapBounded } from '../../shared/kube/sources.js';
import { sleep } from '../support/poll.js';
import type { ConfigstampProcess } from '../support/process.js';
import { benchCluster, memory, percentile, startBenchWatcher } from './watcher-harness.js';

const NAMESPACES = 100;
const ns = (i: number): string => `scale-${i % NAMESPACES}`;
const MERGE = 'application/merge-patch+json';

const appConfig = (i: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: 40 }, (_, k) => [`SETTING_${k}`, `value-${i}-${k}-${'x'.repeat(20)}`]));
const properties = (i: number): string => Array.from({ length: 100 }, (_, k) => `app.section${k}.key=${i}-${k}-${'y'.repeat(20)}`).join('\n');
const b64 = (bytes: number): string => randomBytes(bytes).toString('base64');

/** The objects of workload `i`: its sources (POST path suffix and body), then itself. */
function objectsOf(i: number, sources: 2 | 5): { path: string; body: unknown }[] {
  const n = ns(i);
  const cm = (name: string, data: Record<string, string>) => ({ path: `/api/v1/namespaces/${n}/configmaps`, body: { metadata: { name }, data } });
  const secret = (name: string, type: string, data: Record<string, string>) => ({
    path: `/api/v1/namespaces/${n}/secrets`,
    body: { metadata: { name }, type, data },
  });
  const out: { path: string; body: unknown }[] = [
    cm(`cm-${i}`, appConfig(i)),
    secret(`sec-${i}`, 'Opaque', { user: b64(12), password: b64(24), url: b64(48) }),
  ];
  const envFrom: unknown[] = [{ configMapRef: { name: `cm-${i}` } }, { secretRef: { name: `sec-${i}` } }];
  const volumes: unknown[] = [];
  if (sources === 5) {
    out.push(cm(`props-${i}`, { 'application.properties': properties(i) }));
    out.push(secret(`tls-${i}`, 'kubernetes.io/tls', { 'tls.crt': b64(1_200), 'tls.key': b64(1_200) }));
    out.push(secret(`extra-${i}`, 'Opaque', { token: b64(32) }));
    envFrom.push({ secretRef: { name: `extra-${i}` } });
    volumes.push({ name: 'props', configMap: { name: `props-${i}` } }, { name: 'tls', secret: { secretName: `tls-${i}` } });
  }
  if (i % 10 === 0) out.push(secret(`sh.helm.release.v1.app-${i}.v1`, 'helm.sh/release.v1', { release: b64(7_500) }));
  out.push({
    path: `/apis/apps/v1/namespaces/${n}/deployments`,
    body: {
      metadata: { name: `app-${i}`, annotations: { 'configstamp.io/track': 'true' } },
      spec: {
        paused: true,
        replicas: 1,
        selector: { matchLabels: { app: `app-${i}` } },
        template: {
          metadata: { labels: { app: `app-${i}` } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'app:1',
                envFrom,
                volumeMounts:
                  sources === 5
                    ? [
                        { name: 'props', mountPath: '/etc/app' },
                        { name: 'tls', mountPath: '/etc/tls' },
                      ]
                    : [],
              },
            ],
            volumes,
          },
        },
      },
    },
  });
  return out;
}

async function grow(client: KubeClient, from: number, to: number, sources: 2 | 5, concurrency: number): Promise<number> {
  const started = performance.now();
  const indexes = Array.from({ length: to - from }, (_, k) => from + k);
  // Sources first, then workloads, so no workload is seen waiting for a source that is on its way.
  const all = indexes.map((i) => objectsOf(i, sources));
  await mapBounded(
    all.flatMap((objects) => objects.slice(0, -1)),
    concurrency,
    ({ path, body }) => client.request('POST', path, { body }),
  );
  await mapBounded(
    all.map((objects) => objects[objects.length - 1]!),
    concurrency,
    ({ path, body }) => client.request('POST', path, { body }),
  );
  return Math.round(performance.now() - started);
}

/** The watcher's warm-up line: the digest cache filled from lists with data, digested and dropped. */
const warmUpLine = (watcher: ConfigstampProcess) => watcher.records().find((r) => r.msg === 'warmed the digest cache from workload records and lists');

/** The restart sync's end less the lists' return (the warm-up line's time less its own ms). */
async function afterLists(watcher: ConfigstampProcess, timeoutMs: number): Promise<number> {
  const end = await watcher.waitFor((r) => r.msg === 'restart sync: every workload reconciled once', timeoutMs);
  const warm = warmUpLine(watcher) ?? {};
  return Date.parse(String(end.time)) - (Date.parse(String(warm.time)) - Number(warm.ms));
}

const patchLines = (w: ConfigstampProcess): number => w.lines.filter((l) => l.includes('"adopted:') || l.includes('"rollout: stamp patched"')).length;

async function changeLatency(
  client: KubeClient,
  watcher: ConfigstampProcess,
  size: number,
  changes: number,
): Promise<{ p50: number; p90: number; max: number }> {
  const ms: number[] = [];
  for (let c = 0; c < changes; c++) {
    const i = Math.floor((c + 0.5) * (size / changes));
    const before = watcher.records().filter((r) => r.msg === 'rollout: stamp patched').length;
    const sent = Date.now();
    await client.request('PATCH', `/api/v1/namespaces/${ns(i)}/configmaps/cm-${i}`, {
      body: { data: { SETTING_0: `changed-${c}-${sent}` } },
      contentType: MERGE,
    });
    await watcher.waitFor(() => watcher.records().filter((r) => r.msg === 'rollout: stamp patched').length > before, 30_000);
    const line = watcher.records().filter((r) => r.msg === 'rollout: stamp patched')[before]!;
    ms.push(Date.parse(String(line.time)) - sent);
    await sleep(200);
  }
  return { p50: percentile(ms, 50), p90: percentile(ms, 90), max: percentile(ms, 100) };
}

export async function run(
  options: { sizes?: number[]; sourceCounts?: (2 | 5)[]; concurrency?: number; settleMs?: number; quietMs?: number } = {},
): Promise<Record<string, unknown>> {
  const sizes = options.sizes ?? (process.env.CONFIGSTAMP_SCALE_SIZES ?? '1000,5000,20000,50000').split(',').map(Number);
  const sourceCounts = options.sourceCounts ?? [2, 5];
  const concurrency = options.concurrency ?? 32;
  const settleMs = options.settleMs ?? 5_000;
  const quietMs = Math.max(settleMs, options.quietMs ?? 30_000);
  const watcherArgs = ['--workers=16', '--patch-qps=2000', '--patch-burst=200', '--debounce=0', '--min-rollout-interval=0'];
  const results: Record<string, unknown> = { sizes, watcherArgs, namespaces: NAMESPACES };
  for (const sources of sourceCounts) {
    const bench = await benchCluster();
    const rows: Record<string, unknown>[] = [];
    try {
      const { client } = bench;
      await mapBounded(
        Array.from({ length: NAMESPACES }, (_, i) => ns(i)),
        16,
        (name) => client.request('POST', '/api/v1/namespaces', { body: { metadata: { name } } }),
      );
      const baseline = await startBenchWatcher(bench.cluster, watcherArgs);
      await sleep(settleMs);
      const idle = memory(baseline.child.pid!);
      await sleep(quietMs - settleMs);
      const idleQuiet = memory(baseline.child.pid!);
      await baseline.stop();
      let created = 0;
      for (const size of sizes) {
        const createMs = await grow(client, created, size, sources, concurrency);
        created = size;
        // A first install over what is new: every new workload adopted (patch-bound), then stopped.
        const install = await startBenchWatcher(bench.cluster, watcherArgs);
        const installMs = await afterLists(install, 900_000);
        await install.stop();
        // The measured boot: a restart over a recorded cluster.
        const spawned = Date.now();
        const watcher = await startBenchWatcher(bench.cluster, watcherArgs);
        try {
          const spawnToSyncedMs = Date.now() - spawned;
          const listsToReconciledMs = await afterLists(watcher, 300_000);
          // The part of it spent warming the digest cache.
          const warm = warmUpLine(watcher);
          const warmUp =
            warm === undefined
              ? undefined
              : {
                  ms: Number(warm.ms),
                  seeded: Number(warm.seeded),
                  trustedRecords: Number(warm.trustedRecords),
                  untrustedRecords: Number(warm.untrustedRecords),
                  lists: Number(warm.lists),
                  digested: Number(warm.digested),
                };
          const sourcesRead = Number(watcher.records().find((r) => r.msg === 'restart sync: every workload reconciled once')?.sourcesRead);
          const patchesAtBoot = patchLines(watcher);
          await sleep(settleMs);
          const settled = memory(watcher.child.pid!);
          // V8 gives back the boot's garbage only once it sees the process idle (its memory
          // reducer starts about 8 s in): RSS after a longer quiet is what a steady watcher holds.
          await sleep(quietMs - settleMs);
          const quiet = memory(watcher.child.pid!);
          const latency = await changeLatency(client, watcher, size, 10);
          const cached = size * (1 + sources);
          rows.push({
            workloads: size,
            cachedObjects: cached,
            createMs,
            installListsToReconciledMs: installMs,
            spawnToSyncedMs,
            listsToReconciledMs,
            warmUp,
            sourcesRead,
            patchesAtBoot,
            rssSettledMB: settled.rssMB,
            rssPeakMB: settled.hwmMB,
            rssQuietMB: quiet.rssMB,
            bytesPerCachedObject: Math.round(((settled.rssMB - idle.rssMB) * 2 ** 20) / cached),
            bytesPerCachedObjectQuiet: Math.round(((quiet.rssMB - idleQuiet.rssMB) * 2 ** 20) / cached),
            changeToPatchMs: latency,
          });
          console.error(JSON.stringify({ sources, ...rows[rows.length - 1] }));
        } finally {
          await watcher.stop();
        }
      }
      results[`sources${sources}`] = { idleRssMB: idle.rssMB, idleQuietRssMB: idleQuiet.rssMB, rows };
    } finally {
      await bench.stop();
    }
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
