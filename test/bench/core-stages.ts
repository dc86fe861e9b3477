/**
 * Where a core decision's time goes: each stage of test/bench/core-decision.ts timed alone on that
 * benchmark's scene, for this checkout and for any other checkouts named (an older commit
 * unpacked with `git archive <rev> | tar -x -C /tmp/old`, plus a node_modules link). Checkouts
 * and stages alternate in 50 ms slices, so a change in the machine's speed hits them all alike;
 * each figure is the median slice, in µs of CPU time per call. Not part of `npm run bench`.
 *
 *   node --import tsx test/bench/core-stages.ts [/tmp/old ...] [--rounds=21]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Core from '../../shared/core/index.js';
import type * as Fixtures from '../fixtures/index.js';
import type * as Bench from './core-decision.js';
import { cacheOf } from './core-decision.js';

type Stages = Record<string, () => unknown>;

/** The five stages of one checkout, each fed the output of the one before, computed once. */
async function stagesOf(root: string): Promise<Stages> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(`${root}/${path}`).href) as Promise<T>;
  const core = await load<typeof Core>('shared/core/index.js');
  const fixtures = await load<typeof Fixtures>('test/fixtures/index.js');
  const { hashKey } = fixtures;
  // The stamp from data: the core's own currentStamp in checkouts before the one evaluation
  // pipeline (shared/core/evaluate.ts), the same composition from the fixtures after it.
  const stampFromData = (core as { currentStamp?: typeof fixtures.currentStamp }).currentStamp ?? fixtures.currentStamp;
  const { buildScene } = await load<typeof Bench>('test/bench/core-decision.js');
  const { kind, deployment, sources } = buildScene();
  const cache = cacheOf(sources);
  const key = hashKey(42);
  const template = core.getPath(deployment, kind.templatePath);
  const refs = core.extractReferences(template);
  const plan = core.planTracking({ kind, object: deployment }, refs, cache.namespace, core.DEFAULT_POLICY);
  const tracked = core.selectTrackedSources(plan, cache.catalog, core.DEFAULT_POLICY);
  const stamp = stampFromData(key, cache.namespace.name, tracked, cache.lookup);
  return {
    extractReferences: () => core.extractReferences(template),
    planTracking: () => core.planTracking({ kind, object: deployment }, refs, cache.namespace, core.DEFAULT_POLICY),
    selectTrackedSources: () => core.selectTrackedSources(plan, cache.catalog, core.DEFAULT_POLICY),
    currentStamp: () => stampFromData(key, cache.namespace.name, tracked, cache.lookup),
    decideReconcile: () => core.decideReconcile(kind, deployment, stamp, { rollOnDelete: false }),
  };
}

let sink = 0;

/** µs of CPU time per call of `op`, over about `ms` of wall-clock time. */
function microsPerCall(op: () => unknown, ms: number): number {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 20; i++) sink ^= op() === undefined ? 0 : 1;
    n += 20;
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / n;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(roots: readonly string[], rounds: number): Promise<void> {
  const checkouts = await Promise.all(roots.map(stagesOf));
  const names = Object.keys(checkouts[0]!);
  for (const stages of checkouts) for (const name of names) microsPerCall(stages[name]!, 500); // warm-up
  const samples = checkouts.map(() => new Map(names.map((name) => [name, [] as number[]])));
  for (let r = 0; r < rounds; r++) {
    for (const name of names) checkouts.forEach((stages, i) => samples[i]!.get(name)!.push(microsPerCall(stages[name]!, 50)));
  }
  const width = Math.max(...roots.map((r) => r.length), 10);
  console.log(`${'stage (µs)'.padEnd(22)}${roots.map((r) => r.padStart(width + 2)).join('')}`);
  const totals = roots.map(() => 0);
  for (const name of names) {
    const row = samples.map((s, i) => {
      const m = median(s.get(name)!);
      totals[i]! += m;
      return m.toFixed(1).padStart(width + 2);
    });
    console.log(`${name.padEnd(22)}${row.join('')}`);
  }
  console.log(`${'total'.padEnd(22)}${totals.map((t) => t.toFixed(1).padStart(width + 2)).join('')}`);
  if (sink === 2) console.log('unreachable'); // keeps `sink` alive
}

const here = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const args = process.argv.slice(2);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? 21);
await main([here, ...args.filter((a) => !a.startsWith('--'))], rounds);
