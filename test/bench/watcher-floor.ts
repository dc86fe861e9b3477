/**
 * Benchmark: a ConfigMap change → the new ReplicaSet, configstamp against the physical floor, on
 * one control plane in one run. The floor is a minimal controller (floor-controller.ts): it
 * watches one ConfigMap and, on each change, patches its Deployment's pod template at once (no
 * policy, no digests, no confirming reads). It runs twice, each on a pair of its own: inside this
 * process, and as a process of its own, as configstamp's watcher is. configstamp's watcher runs
 * as a process, compiled, with `--debounce=0 --min-rollout-interval=0`, then again with its
 * default debounce (a 500 ms quiet period) for fewer changes. The changes rotate between the two
 * floors' pairs and configstamp's, 300 ms apart, so all see the same machine and no controller
 * gets a change before it settled the last. Each floor times its own PATCH, as configstamp does.
 *
 * The clock starts before the ConfigMap PATCH is sent and stops when a watch on ReplicaSets shows
 * the Deployment's new one. configstamp's time is split, from its log lines, into change → patch
 * sent (watch delivery, queue, the confirming reads) and the patch itself (`patchMs`); the rest is
 * the Deployment controller making the ReplicaSet, as for the floor. Last, the one read that
 * change → patch sent holds beyond the floor's work is timed alone: a quorum GET of a just-changed
 * ConfigMap against a GET at its new resourceVersion, answered from the API server's watch cache;
 * and the delay from a PATCH sent to its event on configstamp's kind of watch (cluster-wide,
 * metadata only) against the floor's (one full object).
 *
 *   node --import tsx test/bench/watcher-floor.ts
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { METADATA_ACCEPT } from '../../shared/kube/client.js';
import type { KubeClient } from '../../shared/kube/client.js';
import { sourcePath } from '../../shared/kube/paths.js';
import { benchCluster, percentile, startBenchWatcher, trackedDeployment } from './watcher-harness.js';
import type { ConfigstampProcess } from '../support/process.js';
import { startFloor } from './floor-controller.js';
import type { FloorPair } from './floor-controller.js';
import type { ControlPlane } from '../cluster/controlplane.js';

const MERGE = 'application/merge-patch+json';

type Pair = FloorPair;

/** A floor running, and the round trip of each PATCH it made, by the resourceVersion it patched for. */
interface Floor {
  readonly pair: Pair;
  readonly patchMs: Map<string, number>;
  stop(): void;
}

function inProcessFloor(client: KubeClient, pair: Pair, signal: AbortSignal): Promise<Floor> {
  const patchMs = new Map<string, number>();
  return new Promise((resolve) =>
    startFloor(client, pair, signal, {
      onWatching: () => resolve({ pair, patchMs, stop: () => undefined }),
      onPatched: (rv, ms) => patchMs.set(rv, ms),
    }),
  );
}

/** The floor as a process of its own (node with tsx's loader, which costs nothing once loaded). */
function processFloor(cluster: ControlPlane, pair: Pair): Promise<Floor> {
  const script = fileURLToPath(new URL('./floor-controller.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, cluster.kubeconfigPath, pair.ns, pair.configMap, pair.deployment], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const patchMs = new Map<string, number>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the floor process did not open its watch within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the floor process exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { watching?: boolean; rv?: string; patchMs?: number };
      if (m.rv !== undefined && m.patchMs !== undefined) patchMs.set(m.rv, m.patchMs);
      if (m.watching === true) {
        clearTimeout(timer);
        resolve({ pair, patchMs, stop: () => child.kill('SIGTERM') });
      }
    });
  });
}

/** Resolves, for each new ReplicaSet of `deployment`, the waiter registered for it. */
function replicaSetWatch(client: KubeClient, ns: string, signal: AbortSignal): { next(): Promise<number> } {
  const seen = new Set<string>();
  let waiter: ((at: number) => void) | undefined;
  void client
    .watch(`/apis/apps/v1/namespaces/${ns}/replicasets`, { signal }, (e) => {
      if (e.type !== 'ADDED') return;
      const name = (e.object as { metadata?: { name?: string } }).metadata?.name ?? '';
      if (seen.has(name)) return;
      seen.add(name);
      const w = waiter;
      waiter = undefined;
      w?.(performance.now());
    })
    .catch(() => undefined);
  return {
    next: () =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${ns}: no new ReplicaSet within 30 s`)), 30_000);
        waiter = (at) => {
          clearTimeout(timer);
          resolve(at);
        };
      }),
  };
}

async function setUp(client: KubeClient, pair: Pair, tracked: boolean): Promise<void> {
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: pair.ns } } });
  await client.request('POST', `/api/v1/namespaces/${pair.ns}/configmaps`, { body: { metadata: { name: pair.configMap }, data: { k: '0' } } });
  const d = trackedDeployment(pair.deployment, pair.configMap) as { metadata: { annotations?: Record<string, string> } };
  if (!tracked) delete d.metadata.annotations;
  await client.request('POST', `/apis/apps/v1/namespaces/${pair.ns}/deployments`, { body: d });
}

interface Stats {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}
const stats = (values: readonly number[]): Stats => ({ p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99) });

async function change(
  client: KubeClient,
  pair: Pair,
  value: string,
  rs: { next(): Promise<number> },
): Promise<{ t0: number; ms: number; wall: number; rv: string }> {
  const created = rs.next();
  const wall = Date.now();
  const t0 = performance.now();
  const rv = await patchData(client, pair, 'k', value);
  return { t0, ms: (await created) - t0, wall, rv };
}

/**
 * Rotates `changes` changes between each floor's pair and configstamp's; returns the latencies of
 * each, the floors' own PATCH round trips, and configstamp's split.
 */
async function alternate(
  client: KubeClient,
  floors: readonly Floor[],
  ours: Pair,
  changes: number,
  watcher: ConfigstampProcess,
  offset: number,
  signal: AbortSignal,
) {
  const floorRs = floors.map((f) => replicaSetWatch(client, f.pair.ns, signal));
  const oursRs = replicaSetWatch(client, ours.ns, signal);
  await new Promise((r) => setTimeout(r, 500));
  const floorMs: number[][] = floors.map(() => []);
  const floorPatch: number[][] = floors.map(() => []);
  const oursMs: number[] = [];
  const toPatchSent: number[] = [];
  const patch: number[] = [];
  for (let i = 1; i <= changes; i++) {
    // Spaced, so no controller sees a change before it has settled the last one.
    for (let f = 0; f < floors.length; f++) {
      await new Promise((r) => setTimeout(r, 300));
      const c = await change(client, floors[f]!.pair, String(offset + i), floorRs[f]!);
      floorMs[f]!.push(c.ms);
      const ms = floors[f]!.patchMs.get(c.rv);
      if (ms !== undefined) floorPatch[f]!.push(ms);
    }
    await new Promise((r) => setTimeout(r, 300));
    const before = watcher.records().filter((r) => r.msg === 'rollout: stamp patched').length;
    const c = await change(client, ours, String(offset + i), oursRs);
    oursMs.push(c.ms);
    const line = watcher
      .records()
      .filter((r) => r.msg === 'rollout: stamp patched')
      .at(before);
    if (line !== undefined && typeof line.patchMs === 'number') {
      toPatchSent.push(Date.parse(String(line.time)) - line.patchMs - c.wall);
      patch.push(line.patchMs);
    }
  }
  return { floorMs, floorPatch, oursMs, toPatchSent, patch };
}

const ratio = (o: Stats, f: Stats): Stats => ({
  p50: Math.round((o.p50 / f.p50) * 100) / 100,
  p90: Math.round((o.p90 / f.p90) * 100) / 100,
  p99: Math.round((o.p99 / f.p99) * 100) / 100,
});

/** Merge-patches one data key of the pair's ConfigMap; returns the new resourceVersion. */
async function patchData(client: KubeClient, pair: Pair, key: string, value: string): Promise<string> {
  const path = sourcePath('ConfigMap', pair.ns, pair.configMap);
  const patched = (await client.request('PATCH', path, { body: { data: { [key]: value } }, contentType: MERGE })) as {
    metadata?: { resourceVersion?: string };
  };
  const rv = patched.metadata?.resourceVersion;
  if (rv === undefined) throw new Error(`${path}: the PATCH answer has no resourceVersion`);
  return rv;
}

/**
 * What bounds the rest: configstamp's one read of the changed source, timed after each of `n`
 * PATCHes as the quorum GET it makes (the confirmation must not be older than what the webhook
 * read) and as a GET at the PATCH's resourceVersion, which the API server answers from its watch
 * cache, the read a controller could make if it could accept a lagging answer. Alternating order.
 */
async function sourceReads(client: KubeClient, pair: Pair, n: number): Promise<{ quorum: Stats; fromWatchCache: Stats }> {
  const path = sourcePath('ConfigMap', pair.ns, pair.configMap);
  const quorum: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < n; i++) {
    const rv = await patchData(client, pair, 'read', String(i));
    for (const mode of i % 2 === 0 ? ['quorum', 'cache'] : ['cache', 'quorum']) {
      const t0 = performance.now();
      const got = (await client.request('GET', path, mode === 'cache' ? { query: { resourceVersion: rv } } : {})) as { data?: Record<string, string> };
      (mode === 'cache' ? cached : quorum).push(performance.now() - t0);
      if (got.data?.read !== String(i)) throw new Error(`${path}: the ${mode} read returned a version older than the PATCH`);
    }
  }
  return { quorum: stats(quorum), fromWatchCache: stats(cached) };
}

/**
 * The other part of the gap: how long after a PATCH is sent its event arrives on a cluster-wide,
 * metadata-only watch of ConfigMaps (configstamp's) and on a watch of that one full object (the
 * floor's), both open at once, over `n` PATCHes 100 ms apart.
 */
async function watchDelivery(client: KubeClient, pair: Pair, n: number, signal: AbortSignal): Promise<{ clusterMetadata: Stats; oneObject: Stats }> {
  const arrivals = { clusterMetadata: new Map<string, number>(), oneObject: new Map<string, number>() };
  const note = (into: Map<string, number>) => (e: { type: string; object: unknown }) => {
    const m = (e.object as { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }).metadata;
    if (e.type === 'MODIFIED' && m?.name === pair.configMap && m.namespace === pair.ns && m.resourceVersion !== undefined)
      into.set(m.resourceVersion, performance.now());
  };
  void client.watch(sourcePath('ConfigMap'), { accept: METADATA_ACCEPT, signal }, note(arrivals.clusterMetadata)).catch(() => undefined);
  void client
    .watch(`/api/v1/namespaces/${pair.ns}/configmaps`, { query: { fieldSelector: `metadata.name=${pair.configMap}` }, signal }, note(arrivals.oneObject))
    .catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  const sent: [string, number][] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    sent.push([await patchData(client, pair, 'watched', String(i)), t0]);
    await new Promise((r) => setTimeout(r, 100));
  }
  const delays = (into: Map<string, number>): number[] =>
    sent.map(([rv, t0]) => {
      const at = into.get(rv);
      if (at === undefined) throw new Error(`${pair.ns}/${pair.configMap}: the event of resourceVersion ${rv} never arrived`);
      return at - t0;
    });
  return { clusterMetadata: stats(delays(arrivals.clusterMetadata)), oneObject: stats(delays(arrivals.oneObject)) };
}

export async function run(options: { changes?: number; defaultsChanges?: number; reads?: number } = {}): Promise<Record<string, unknown>> {
  const changes = options.changes ?? 100;
  const defaultsChanges = options.defaultsChanges ?? 15;
  const bench = await benchCluster();
  const abort = new AbortController();
  let stopFloors = (): void => undefined;
  try {
    const { client } = bench;
    const floor: Pair = { ns: 'floor', configMap: 'cfg', deployment: 'app' };
    const floorProc: Pair = { ns: 'floor-process', configMap: 'cfg', deployment: 'app' };
    const ours: Pair = { ns: 'ours', configMap: 'cfg', deployment: 'app' };
    await setUp(client, floor, false);
    await setUp(client, floorProc, false);
    await setUp(client, ours, true);
    const floors = [await inProcessFloor(client, floor, abort.signal), await processFloor(bench.cluster, floorProc)];
    stopFloors = () => floors.forEach((f) => f.stop());
    const results: Record<string, unknown> = { changes, defaultsChanges };
    for (const [name, extra, n, offset] of [
      ['debounce0', ['--debounce=0', '--min-rollout-interval=0'], changes, 0],
      // The default debounce (a 500 ms quiet period); the churn guard off, as changes here come
      // faster than its 10 s.
      ['defaultDebounce', ['--min-rollout-interval=0'], defaultsChanges, 10_000],
    ] as const) {
      const watcher = await startBenchWatcher(bench.cluster, [...extra]);
      try {
        await watcher.waitFor((r) => String(r.msg).startsWith('adopted') || r.msg === 'restart sync: every workload reconciled once', 60_000);
        await new Promise((r) => setTimeout(r, 1_000));
        const m = await alternate(client, floors, ours, n, watcher, offset, abort.signal);
        const [f, fp] = m.floorMs.map(stats) as [Stats, Stats];
        const o = stats(m.oursMs);
        results[name] = {
          floorMs: f,
          floorProcessMs: fp,
          configstampMs: o,
          ratio: ratio(o, f),
          ratioToFloorProcess: ratio(o, fp),
          patchMs: { floor: stats(m.floorPatch[0]!), floorProcess: stats(m.floorPatch[1]!), configstamp: stats(m.patch) },
          configstampSplitMs: { changeToPatchSent: stats(m.toPatchSent), patch: stats(m.patch) },
        };
      } finally {
        await watcher.stop();
      }
    }
    // On a ConfigMap nothing consumes (the floor watches only its own by name), so nothing rolls.
    await client.request('POST', '/api/v1/namespaces/floor/configmaps', { body: { metadata: { name: 'reads' }, data: { read: '' } } });
    const reads: Pair = { ns: 'floor', configMap: 'reads', deployment: '' };
    results.sourceReadMs = await sourceReads(client, reads, options.reads ?? 200);
    results.watchDeliveryMs = await watchDelivery(client, reads, options.reads ?? 200, abort.signal);
    return results;
  } finally {
    abort.abort();
    stopFloors();
    await bench.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
