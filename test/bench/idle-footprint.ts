/**
 * Measurement (issue #16 point 5): what bare Node costs here, what each module the processes load
 * adds, and the idle RSS of the watcher and the webhook against an empty control plane, all in
 * one run. Each figure is a fresh `node` process (the compiled code, as the image runs it: with
 * --max-semi-space-size=2) that imports one thing, waits for its heap to settle, and reports its
 * RSS; the processes themselves are measured after 5 s idle.
 *
 *   node --import tsx test/bench/idle-footprint.ts
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCompiled } from '../support/process.js';
import { benchCluster, memory, startBenchWatcher } from './watcher-harness.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** RSS (MB) of a fresh node that imports `specifier` (or nothing) and idles 2 s after a GC. */
function rssAfterImport(specifier: string | undefined): Promise<number> {
  const script = `${specifier === undefined ? '' : `await import(${JSON.stringify(specifier)});`}
    await new Promise((r) => setTimeout(r, 1500)); globalThis.gc?.(); await new Promise((r) => setTimeout(r, 500));
    process.stdout.write(String(process.memoryUsage().rss));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=2', '--expose-gc', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(Math.round((Number(out) / 1048576) * 10) / 10) : reject(new Error(`import ${specifier}: ${err.slice(0, 300)}`)),
    );
  });
}

export async function run(): Promise<Record<string, unknown>> {
  buildCompiled();
  const modules: [string, string | undefined][] = [
    ['bare node', undefined],
    ['pino', 'pino'],
    ['prom-client', 'prom-client'],
    ['fastify', 'fastify'],
    ['node-forge', 'node-forge'],
    ['croner', 'croner'],
    ['shared/core (compiled)', pathToFileURL(join(ROOT, 'dist/shared/core/index.js')).href],
    ['watcher/main (compiled, not started)', pathToFileURL(join(ROOT, 'dist/watcher/main.js')).href],
    ['webhook/main (compiled, not started)', pathToFileURL(join(ROOT, 'dist/webhook/main.js')).href],
  ];
  const imports: Record<string, { rssMB: number; overBareMB: number }> = {};
  let bare = 0;
  for (const [name, specifier] of modules) {
    const rss = await rssAfterImport(specifier);
    if (specifier === undefined) bare = rss;
    imports[name] = { rssMB: rss, overBareMB: Math.round((rss - bare) * 10) / 10 };
  }
  const bench = await benchCluster();
  try {
    const watcher = await startBenchWatcher(bench.cluster, []);
    try {
      await new Promise((r) => setTimeout(r, 5_000));
      const idle = memory(watcher.child.pid!);
      return { bareNodeMB: bare, imports, watcherIdle: { ...idle, overBareMB: Math.round((idle.rssMB - bare) * 10) / 10 } };
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
