/**
 * Micro-benchmark of the pure decision the watcher makes per workload, for a Deployment consuming
 * 5 sources of 10 keys each: extractReferences → planTracking → selectTrackedSources → the stamp
 * of the tracked sources' current digests → decideReconcile. Single-threaded: the figures are for
 * one core. Two ways to come by the digests are timed:
 *   - known (the headline): the watcher keeps each source's digest per resourceVersion and key
 *     selection, so a decision looks its 5 digests up, through that very cache
 *     (watcher/digest-cache.ts, DigestCache.known) by the sources' current resourceVersions;
 *   - from data: all 5 keyed digests computed from the sources' data on every decision, as the
 *     watcher does the first time it sees a source version, and the webhook on every admission.
 * Baselines from the same run make the figures comparable across machines:
 *   - clone: JSON.parse(JSON.stringify(deployment)), the cost of one deep copy of the workload;
 *   - reloader-sha1: Reloader's unkeyed SHA-1 over sorted `k=v` joined by `;`, for the 5 sources.
 *
 *   node --import tsx test/bench/core-decision.ts [--ms=200] [--rounds=9]
 *
 * `run()` returns the numbers; run directly, it prints a table.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  DEFAULT_POLICY,
  Ours,
  decideReconcile,
  digestsFromData,
  formatStamp,
  stampDigest,
  stampOf,
  trackWorkload,
  workloadKindByName,
} from '../../shared/core/index.js';
import type {
  JsonRecord,
  NamespaceView,
  ReconcileDecision,
  SourceCatalog,
  SourceKind,
  SourceMeta,
  SourceObjects,
  Stamp,
  TrackedSource,
  WorkloadKind,
} from '../../shared/core/index.js';
import { FakeNamespace, configMap, hashKey, namespace, podSpec, secret, setPath, workload } from '../fixtures/index.js';
import { reloaderHash } from '../fixtures/reloader-hash.js';
import { DigestCache, selectionId } from '../../watcher/digest-cache.js';
import type { VersionLookup } from '../../watcher/digest-cache.js';

export const SOURCES = 5;
export const KEYS_PER_SOURCE = 10;

const NS = 'shop';
const KEY = hashKey(42);
const keysOf = (prefix: string): string[] => Array.from({ length: KEYS_PER_SOURCE }, (_, i) => `${prefix}_${i}`);
const dataOf = (prefix: string, salt = ''): Record<string, string> =>
  Object.fromEntries(keysOf(prefix).map((k, i) => [k, `${salt}value-${i}-${'x'.repeat(40)}`]));

/** The scene: 3 ConfigMaps and 2 Secrets, consumed five different ways. */
export function buildScene(): { kind: WorkloadKind; deployment: JsonRecord; sources: FakeNamespace } {
  const kind = workloadKindByName('Deployment')!;
  const sources = new FakeNamespace([
    configMap('app-env', dataOf('APP')),
    configMap('app-files', dataOf('file')),
    configMap('feature-flags', dataOf('FLAG')),
    secret('db-credentials', dataOf('DB')),
    secret('tls-bundle', dataOf('tls')),
  ]);
  const spec = podSpec(
    {
      envFrom: [{ configMapRef: { name: 'app-env' } }, { secretRef: { name: 'db-credentials' } }],
      env: keysOf('FLAG').map((k) => ({ name: k, valueFrom: { configMapKeyRef: { name: 'feature-flags', key: k } } })),
      volumeMounts: [
        { name: 'files', mountPath: '/etc/app' },
        { name: 'tls', mountPath: '/etc/tls' },
      ],
    },
    {
      volumes: [
        { name: 'files', configMap: { name: 'app-files' } },
        { name: 'tls', secret: { secretName: 'tls-bundle', items: keysOf('tls').map((k) => ({ key: k, path: k })) } },
      ],
    },
  );
  const deployment = workload('Deployment', { annotations: { [Ours.track]: 'true' }, podSpec: spec });
  setPath(deployment, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(decideFromData(kind, deployment, cacheOf(sources)).stamp) });
  return { kind, deployment, sources };
}

/**
 * What a watcher's informer cache hands the core: stored objects and their metadata, looked up,
 * not rebuilt per call (so the benchmark times the core, not a test double).
 */
export interface Cache {
  readonly catalog: SourceCatalog;
  readonly lookup: SourceObjects;
  readonly namespace: NamespaceView;
  /** Each source's resourceVersion, as the watcher's cache tells it to its digest cache. */
  readonly versions: VersionLookup;
}

export function cacheOf(sources: FakeNamespace): Cache {
  const metas = new Map<string, SourceMeta>();
  for (const id of sources.objects.keys()) {
    const [kind, name] = id.split('/') as [SourceKind, string];
    metas.set(id, sources.get(kind, name)!);
  }
  return {
    catalog: { get: (kind, name) => metas.get(`${kind}/${name}`), names: (kind) => sources.names(kind) },
    lookup: (kind, name) => sources.objects.get(`${kind}/${name}`) ?? null,
    namespace: namespace(NS),
    versions: (kind, _namespace, name) => {
      const rv = (sources.objects.get(`${kind}/${name}`)?.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
      return typeof rv === 'string' ? rv : undefined;
    },
  };
}

/** The sources a workload tracks, from its template and the cache (the core's trackWorkload). */
function trackedOf(kind: WorkloadKind, deployment: JsonRecord, cache: Cache): readonly TrackedSource[] {
  return trackWorkload({ kind, object: deployment, namespace: cache.namespace, policy: DEFAULT_POLICY }, cache.catalog).tracked;
}

/** One decision with all 5 digests computed from the sources' data (the webhook's port). */
function decideFromData(kind: WorkloadKind, deployment: JsonRecord, cache: Cache): { decision: ReconcileDecision; stamp: Stamp } {
  const tracked = trackedOf(kind, deployment, cache);
  const stamp = stampOf(tracked, digestsFromData(KEY, NS, tracked, cache.lookup));
  return { decision: decideReconcile(kind, deployment, stamp, { rollOnDelete: false }), stamp };
}

/**
 * The watcher's digest cache (watcher/digest-cache.ts) holding the digest of every source the
 * workload tracks, at its current version: what the watcher has once it has seen each version.
 */
export function knownDigests(kind: WorkloadKind, deployment: JsonRecord, cache: Cache): DigestCache {
  const digests = new DigestCache(KEY, () => Promise.reject(new Error('the benchmark reads no source')));
  for (const t of trackedOf(kind, deployment, cache)) {
    const rv = cache.versions(t.kind, NS, t.name);
    if (rv === undefined) throw new Error(`the scene lacks ${t.kind}/${t.name}`);
    const digest = stampDigest(KEY, { kind: t.kind, namespace: NS, name: t.name }, t.keys, cache.lookup(t.kind, t.name));
    digests.remember(t.kind, NS, t.name, rv, selectionId(t.keys), digest);
  }
  return digests;
}

/**
 * One decision as the watcher makes it (shared/core/evaluate.ts decideWorkload, its steps run
 * synchronously here): the digests of the sources' current versions are known.
 */
function decide(kind: WorkloadKind, deployment: JsonRecord, cache: Cache, digests: DigestCache): ReconcileDecision {
  const tracked = trackedOf(kind, deployment, cache);
  const known = tracked.map((t) => {
    const digest = digests.known(NS, t, cache.versions);
    if (digest === undefined) throw new Error(`no digest known for ${t.kind}/${t.name}`);
    return digest;
  });
  return decideReconcile(kind, deployment, stampOf(tracked, known), { rollOnDelete: false });
}

/** One op's rate: per second of wall-clock time, and per second of this process's CPU time. */
export interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

/**
 * Operations per second of each op: the median over `rounds` rounds of about `ms` each. Rounds are
 * interleaved (every op once per round) so that a busy machine slows every op alike. CPU time
 * (process.cpuUsage) leaves out the time spent waiting for a core, so on a shared machine it is
 * the better "one core" figure; wall-clock is reported beside it.
 */
function measureAll<K extends string>(ops: Readonly<Record<K, () => unknown>>, ms: number, rounds: number): Record<K, Rate> {
  let sink = 0;
  const names = Object.keys(ops) as K[];
  const timeOne = (op: () => unknown, budget: number): Rate => {
    let n = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let now = start;
    while (now - start < budget) {
      for (let i = 0; i < 20; i++) sink ^= op() === undefined ? 0 : 1;
      n += 20;
      now = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    return { wall: n / ((now - start) / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) };
  };
  for (const name of names) timeOne(ops[name], ms); // warm-up: let the JIT settle
  const samples = Object.fromEntries(names.map((n) => [n, [] as Rate[]])) as Record<K, Rate[]>;
  for (let r = 0; r < rounds; r++) for (const name of names) samples[name].push(timeOne(ops[name], ms));
  if (sink === 2) console.log('unreachable'); // keeps `sink` alive
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return Object.fromEntries(names.map((n) => [n, { wall: median(samples[n].map((s) => s.wall)), cpu: median(samples[n].map((s) => s.cpu)) }])) as Record<
    K,
    Rate
  >;
}

export interface BenchResult {
  readonly sources: number;
  readonly keysPerSource: number;
  /**
   * Decisions per CPU-second with the digests known, steady state (stamped, nothing changed:
   * "none"). The headline: what the watcher does per workload it reconciles.
   */
  readonly decisionsPerSecond: number;
  /** The same when one source changed (a "rollout" decision with its patch). */
  readonly rolloutDecisionsPerSecond: number;
  /** Decisions that compute all 5 keyed digests from the sources' data every time. */
  readonly fromData: {
    readonly decisionsPerSecond: number;
    readonly rolloutDecisionsPerSecond: number;
    readonly meetsTarget: boolean;
  };
  readonly baselines: {
    /** JSON.parse(JSON.stringify(deployment)) per CPU-second. */
    readonly clonePerSecond: number;
    /** Reloader-style SHA-1 of all 5 sources, per CPU-second. */
    readonly reloaderSha1PerSecond: number;
  };
  /** How many baseline operations one steady-state decision costs (lower is better). */
  readonly ratios: {
    readonly decisionVsClone: number;
    readonly decisionVsReloaderSha1: number;
    readonly fromDataVsClone: number;
    readonly fromDataVsReloaderSha1: number;
  };
  /** The same rates by wall-clock (lower than CPU rates when the machine is busy). */
  readonly wall: {
    readonly decisionsPerSecond: number;
    readonly rolloutDecisionsPerSecond: number;
    readonly fromDataDecisionsPerSecond: number;
    readonly fromDataRolloutDecisionsPerSecond: number;
    readonly clonePerSecond: number;
    readonly reloaderSha1PerSecond: number;
  };
  readonly target: number;
  readonly meetsTarget: boolean;
  readonly node: string;
}

export const TARGET_DECISIONS_PER_SECOND = 20_000;

export function run(options: { ms?: number; rounds?: number } = {}): BenchResult {
  const ms = options.ms ?? 200;
  const rounds = options.rounds ?? 9;
  const { kind, deployment, sources } = buildScene();

  // One source changed: new data at a new resourceVersion, as the API server would write it.
  const flags = configMap('feature-flags', dataOf('FLAG', 'new-'));
  setPath(flags, ['metadata', 'resourceVersion'], `${String(cacheOf(sources).versions('ConfigMap', NS, 'feature-flags'))}1`);
  const steady = cacheOf(sources);
  const changed = cacheOf(new FakeNamespace([...sources.objects.values()]).put(flags));
  const steadyDigests = knownDigests(kind, deployment, steady);
  const changedDigests = knownDigests(kind, deployment, changed);

  // Check the scenes decide what they are meant to before timing them, both ways alike.
  for (const [name, cache, digests, action] of [
    ['steady-state', steady, steadyDigests, 'none'],
    ['changed', changed, changedDigests, 'rollout'],
  ] as const) {
    const known = decide(kind, deployment, cache, digests);
    const fromData = decideFromData(kind, deployment, cache).decision;
    if (known.action !== action || fromData.action !== action) throw new Error(`${name} scene does not decide "${action}"`);
    if (JSON.stringify(known) !== JSON.stringify(fromData)) throw new Error(`${name} scene: known digests and digests from data decide differently`);
  }
  const changedSource = trackedOf(kind, deployment, changed).find((t) => t.name === 'feature-flags');
  if (changedSource === undefined || steadyDigests.known(NS, changedSource, changed.versions) !== undefined) {
    throw new Error('the digests of the steady scene claim to know the changed version');
  }
  const sourceObjects = [...sources.objects.values()] as { data?: Record<string, string> }[];
  if (sourceObjects.length !== SOURCES || sourceObjects.some((o) => Object.keys(o.data ?? {}).length !== KEYS_PER_SOURCE)) {
    throw new Error('scene does not hold 5 sources of 10 keys');
  }

  const rates = measureAll(
    {
      decision: () => decide(kind, deployment, steady, steadyDigests),
      rollout: () => decide(kind, deployment, changed, changedDigests),
      fromData: () => decideFromData(kind, deployment, steady).decision,
      fromDataRollout: () => decideFromData(kind, deployment, changed).decision,
      clone: () => JSON.parse(JSON.stringify(deployment)) as unknown,
      reloaderSha1: () => sourceObjects.map((o) => reloaderHash(o)),
    },
    ms,
    rounds,
  );
  const decisionsPerSecond = rates.decision.cpu;
  const fromDataPerSecond = rates.fromData.cpu;
  const clonePerSecond = rates.clone.cpu;
  const reloaderSha1PerSecond = rates.reloaderSha1.cpu;
  return {
    sources: SOURCES,
    keysPerSource: KEYS_PER_SOURCE,
    decisionsPerSecond,
    rolloutDecisionsPerSecond: rates.rollout.cpu,
    fromData: {
      decisionsPerSecond: fromDataPerSecond,
      rolloutDecisionsPerSecond: rates.fromDataRollout.cpu,
      meetsTarget: fromDataPerSecond >= TARGET_DECISIONS_PER_SECOND,
    },
    baselines: { clonePerSecond, reloaderSha1PerSecond },
    ratios: {
      decisionVsClone: clonePerSecond / decisionsPerSecond,
      decisionVsReloaderSha1: reloaderSha1PerSecond / decisionsPerSecond,
      fromDataVsClone: clonePerSecond / fromDataPerSecond,
      fromDataVsReloaderSha1: reloaderSha1PerSecond / fromDataPerSecond,
    },
    wall: {
      decisionsPerSecond: rates.decision.wall,
      rolloutDecisionsPerSecond: rates.rollout.wall,
      fromDataDecisionsPerSecond: rates.fromData.wall,
      fromDataRolloutDecisionsPerSecond: rates.fromDataRollout.wall,
      clonePerSecond: rates.clone.wall,
      reloaderSha1PerSecond: rates.reloaderSha1.wall,
    },
    target: TARGET_DECISIONS_PER_SECOND,
    meetsTarget: decisionsPerSecond >= TARGET_DECISIONS_PER_SECOND,
    node: process.version,
  };
}

function printTable(r: BenchResult): void {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const rows: [string, number, number][] = [
    ['decision, digests known, steady state (none)', r.decisionsPerSecond, r.wall.decisionsPerSecond],
    ['decision, digests known, one source changed (rollout)', r.rolloutDecisionsPerSecond, r.wall.rolloutDecisionsPerSecond],
    ['decision + 5 digests from data, steady state (none)', r.fromData.decisionsPerSecond, r.wall.fromDataDecisionsPerSecond],
    ['decision + 5 digests from data, one changed (rollout)', r.fromData.rolloutDecisionsPerSecond, r.wall.fromDataRolloutDecisionsPerSecond],
    ['baseline: JSON clone of the Deployment', r.baselines.clonePerSecond, r.wall.clonePerSecond],
    ['baseline: Reloader SHA-1 of the 5 sources', r.baselines.reloaderSha1PerSecond, r.wall.reloaderSha1PerSecond],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`configstamp core decision: Deployment, ${r.sources} sources x ${r.keysPerSource} keys, one core, node ${r.node}`);
  console.log(`${'operation'.padEnd(width)}  ${'ops/CPU-s'.padStart(11)}  ${'ops/wall-s'.padStart(11)}  ${'cost vs a decision'.padStart(18)}`);
  for (const [name, cpu, wall] of rows) {
    console.log(`${name.padEnd(width)}  ${fmt(cpu).padStart(11)}  ${fmt(wall).padStart(11)}  ${(r.decisionsPerSecond / cpu).toFixed(2).padStart(18)}`);
  }
  console.log(
    `one decision (digests known) costs ${r.ratios.decisionVsClone.toFixed(2)} deep clones of the Deployment; with its 5 digests from data, ${r.ratios.fromDataVsClone.toFixed(2)} (${r.ratios.fromDataVsReloaderSha1.toFixed(2)} Reloader-style hash passes over its sources)`,
  );
  console.log(
    `target >= ${fmt(r.target)} decisions per CPU-second: ${r.meetsTarget ? 'met' : 'NOT met'} (digests known); with 5 digests from data: ${r.fromData.meetsTarget ? 'met' : 'not met'}`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): number | undefined => {
    const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
    return hit === undefined ? undefined : Number(hit.slice(name.length + 3));
  };
  printTable(run({ ms: arg('ms'), rounds: arg('rounds') }));
}
