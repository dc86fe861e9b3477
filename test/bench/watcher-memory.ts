/**
 * Benchmark: the watcher's RSS with 1,000 Secrets of 256 KiB in the cluster vs none. The watcher
 * lists and watches Secrets as metadata only and reads data only for Secrets a tracked workload
 * consumes (none here), so the payload should never reach it. Two watcher processes in the same
 * run against the same control plane: one started before the Secrets exist (baseline), one after.
 * RSS is read from /proc after sync and a settling pause.
 *
 *   node --import tsx test/bench/watcher-memory.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { benchCluster, createAll, rssMB, startBenchWatcher } from './watcher-harness.js';

async function settledRss(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 3_000));
  return rssMB(pid);
}

export async function run(options: { secrets?: number; sizeKiB?: number } = {}): Promise<Record<string, unknown>> {
  const secrets = options.secrets ?? 1_000;
  const sizeKiB = options.sizeKiB ?? 256;
  const bench = await benchCluster();
  try {
    await bench.client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'payload' } } });
    const baseline = await startBenchWatcher(bench.cluster, []);
    const rssNone = await settledRss(baseline.child.pid!);
    await baseline.stop();

    const started = performance.now();
    // Each Secret's value is random (incompressible) base64 of sizeKiB.
    const bodies = Array.from({ length: secrets }, (_, i) => ({
      metadata: { name: `big-${i}` },
      type: 'Opaque',
      data: { blob: randomBytes(sizeKiB * 1024).toString('base64') },
    }));
    await createAll(bench.client, '/api/v1/namespaces/payload/secrets', bodies, 8);
    const createMs = Math.round(performance.now() - started);

    const loaded = await startBenchWatcher(bench.cluster, []);
    const rssLoaded = await settledRss(loaded.child.pid!);
    await loaded.stop();
    return { secrets, sizeKiB, createMs, rssNoneMB: rssNone, rssWithSecretsMB: rssLoaded, growthMB: Math.round((rssLoaded - rssNone) * 10) / 10 };
  } finally {
    await bench.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
