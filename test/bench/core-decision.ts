/**
 * Micro-benchmark of the pure decision the watcher makes per workload: extractReferences →
 * planTracking → selectTrackedSources → currentStamp (5 keyed digests) → decideReconcile, for a
 * Deployment consuming 5 sources of 10 keys each. Single-threaded: the figures are for one core.
 * Baselines from the same run make the figure comparable across machines:
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
  currentStamp,
  decideReconcile,
  extractReferences,
  formatStamp,
  getPath,
  planTracking,
  selectTrackedSources,
  workloadKindByName,
} from '../../shared/core/index.js';
import type { JsonRecord, NamespaceView, ReconcileDecision, SourceCatalog, SourceKind, SourceMeta, SourceObjects, WorkloadKind } from '../../shared/core/index.js';
import { FakeNamespace, configMap, hashKey, namespace, podSpec, secret, setPath, workload } from '../fixtures/index.js';
import { reloaderHash } from '../fixtures/reloader-hash.js';

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
      volumeMounts: [{ name: 'files', mountPath: '/etc/app' }, { name: 'tls', mountPath: '/etc/tls' }],
    },
    {
      volumes: [
        { name: 'files', configMap: { name: 'app-files' } },
        { name: 'tls', secret: { secretName: 'tls-bundle', items: keysOf('tls').map((k) => ({ key: k, path: k })) } },
      ],
    },
  );
  const deployment = workload('Deployment', { annotations: { [Ours.track]: 'true' }, podSpec: spec });
  setPath(deployment, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(decide(kind, deployment, cacheOf(sources)).stamp) });
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
  };
}

/** One decision, exactly as the watcher computes it from cached objects. */
function decide(kind: WorkloadKind, deployment: JsonRecord, cache: Cache): { decision: ReconcileDecision; stamp: ReturnType<typeof currentStamp> } {
  const refs = extractReferences(getPath(deployment, kind.templatePath));
  const plan = planTracking({ kind, object: deployment }, refs, cache.namespace, DEFAULT_POLICY);
  const tracked = selectTrackedSources(plan, cache.catalog, DEFAULT_POLICY);
  const stamp = currentStamp(KEY, NS, tracked, cache.lookup);
  return { decision: decideReconcile(kind, deployment, stamp, { rollOnDelete: false }), stamp };
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
  return Object.fromEntries(names.map((n) => [n, { wall: median(samples[n].map((s) => s.wall)), cpu: median(samples[n].map((s) => s.cpu)) }])) as Record<K, Rate>;
}

export interface BenchResult {
  readonly sources: number;
  readonly keysPerSource: number;
  /** Decisions per CPU-second, steady state (stamped, nothing changed: "none"). The headline. */
  readonly decisionsPerSecond: number;
  /** Decisions per CPU-second when one source changed (a "rollout" decision with its patch). */
  readonly rolloutDecisionsPerSecond: number;
  readonly baselines: {
    /** JSON.parse(JSON.stringify(deployment)) per CPU-second. */
    readonly clonePerSecond: number;
    /** Reloader-style SHA-1 of all 5 sources, per CPU-second. */
    readonly reloaderSha1PerSecond: number;
  };
  /** How many baseline operations one decision costs (lower is better). */
  readonly ratios: {
    readonly decisionVsClone: number;
    readonly decisionVsReloaderSha1: number;
  };
  /** The same four rates by wall-clock (lower than CPU rates when the machine is busy). */
  readonly wall: {
    readonly decisionsPerSecond: number;
    readonly rolloutDecisionsPerSecond: number;
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

  // Check the scenes decide what they are meant to before timing them.
  const steady = cacheOf(sources);
  const changed = cacheOf(new FakeNamespace([...sources.objects.values()]).put(configMap('feature-flags', dataOf('FLAG', 'new-'))));
  if (decide(kind, deployment, steady).decision.action !== 'none') throw new Error('steady-state scene does not decide "none"');
  if (decide(kind, deployment, changed).decision.action !== 'rollout') throw new Error('changed scene does not decide "rollout"');
  const sourceObjects = [...sources.objects.values()] as { data?: Record<string, string> }[];
  if (sourceObjects.length !== SOURCES || sourceObjects.some((o) => Object.keys(o.data ?? {}).length !== KEYS_PER_SOURCE)) {
    throw new Error('scene does not hold 5 sources of 10 keys');
  }

  const rates = measureAll({
    decision: () => decide(kind, deployment, steady).decision,
    rollout: () => decide(kind, deployment, changed).decision,
    clone: () => JSON.parse(JSON.stringify(deployment)) as unknown,
    reloaderSha1: () => sourceObjects.map((o) => reloaderHash(o)),
  }, ms, rounds);
  const decisionsPerSecond = rates.decision.cpu;
  const clonePerSecond = rates.clone.cpu;
  const reloaderSha1PerSecond = rates.reloaderSha1.cpu;
  return {
    sources: SOURCES,
    keysPerSource: KEYS_PER_SOURCE,
    decisionsPerSecond,
    rolloutDecisionsPerSecond: rates.rollout.cpu,
    baselines: { clonePerSecond, reloaderSha1PerSecond },
    ratios: {
      decisionVsClone: clonePerSecond / decisionsPerSecond,
      decisionVsReloaderSha1: reloaderSha1PerSecond / decisionsPerSecond,
    },
    wall: {
      decisionsPerSecond: rates.decision.wall,
      rolloutDecisionsPerSecond: rates.rollout.wall,
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
    ['decision, steady state (none)', r.decisionsPerSecond, r.wall.decisionsPerSecond],
    ['decision, one source changed (rollout)', r.rolloutDecisionsPerSecond, r.wall.rolloutDecisionsPerSecond],
    ['baseline: JSON clone of the Deployment', r.baselines.clonePerSecond, r.wall.clonePerSecond],
    ['baseline: Reloader SHA-1 of the 5 sources', r.baselines.reloaderSha1PerSecond, r.wall.reloaderSha1PerSecond],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`configstamp core decision: Deployment, ${r.sources} sources x ${r.keysPerSource} keys, one core, node ${r.node}`);
  console.log(`${'operation'.padEnd(width)}  ${'ops/CPU-s'.padStart(11)}  ${'ops/wall-s'.padStart(11)}  ${'cost vs a decision'.padStart(18)}`);
  for (const [name, cpu, wall] of rows) {
    console.log(`${name.padEnd(width)}  ${fmt(cpu).padStart(11)}  ${fmt(wall).padStart(11)}  ${(r.decisionsPerSecond / cpu).toFixed(2).padStart(18)}`);
  }
  console.log(`one decision costs ${r.ratios.decisionVsClone.toFixed(2)} deep clones of the Deployment, or ${r.ratios.decisionVsReloaderSha1.toFixed(2)} Reloader-style hash passes over its sources`);
  console.log(`target >= ${fmt(r.target)} decisions per CPU-second: ${r.meetsTarget ? 'met' : 'NOT met'}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): number | undefined => {
    const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
    return hit === undefined ? undefined : Number(hit.slice(name.length + 3));
  };
  printTable(run({ ms: arg('ms'), rounds: arg('rounds') }));
}
