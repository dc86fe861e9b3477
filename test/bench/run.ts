/**
 * `npm run bench`: every benchmark in one run, or the ones named (`npm run bench -- core
 * webhook-server`). Each module exports run() and prints its own table; this prints one JSON
 * summary at the end, for pasting into docs/benchmarks.md with the command that produced it.
 * Benchmarks are not tests: they report ratios against a baseline measured in the same run.
 */
const BENCHES: Readonly<Record<string, () => Promise<{ run: (options?: object) => unknown }>>> = {
  core: () => import('./core-decision.js'),
  'webhook-server': () => import('./webhook-server.js'),
  'webhook-e2e': () => import('./webhook-e2e.js'),
  'webhook-match': () => import('./webhook-match.js'),
  'watcher-latency': () => import('./watcher-latency.js'),
  'watcher-boot': () => import('./watcher-boot.js'),
  'watcher-boot-real': () => import('./watcher-boot-real.js'),
  'watcher-memory': () => import('./watcher-memory.js'),
  'watcher-fanout': () => import('./watcher-fanout.js'),
  'watcher-budget': () => import('./watcher-budget.js'),
  'watcher-floor': () => import('./watcher-floor.js'),
  'apply-gaps': () => import('./apply-gaps.js'),
  'idle-footprint': () => import('./idle-footprint.js'),
  'watcher-scale': () => import('./watcher-scale.js'),
};

async function main(names: readonly string[]): Promise<number> {
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
    return 2;
  }
  const chosen = names.length > 0 ? names : Object.keys(BENCHES);
  const results: Record<string, unknown> = {};
  for (const name of chosen) {
    console.error(`\n== ${name}`);
    const started = Date.now();
    const module = await BENCHES[name]!();
    results[name] = await module.run();
    console.error(`== ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log(JSON.stringify({ command: `npm run bench${names.length ? ` -- ${names.join(' ')}` : ''}`, node: process.version, results }, null, 2));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
