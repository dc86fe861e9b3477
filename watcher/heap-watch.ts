/**
 * A warning before the heap ceiling, not an OOM kill after it. The watcher's cache grows with the
 * cluster (docs/benchmarks.md, scale: about 2.3-4.3 KB per cached object), and the chart's default
 * ceiling (`--max-old-space-size`, `watcher.maxOldSpaceMiB`) holds about 20,000 workloads with 2
 * sources each. Checked every `intervalMs`: one warning when the used heap first passes `warnAt` of
 * the ceiling, one line when it is back under `clearAt`, so a heap that hovers does not flood.
 */
import v8 from 'node:v8';
import type { Logger } from '../shared/log.js';

export interface HeapStats {
  readonly used_heap_size: number;
  readonly heap_size_limit: number;
}

export interface HeapWatchOptions {
  readonly log: Logger;
  readonly intervalMs?: number;
  readonly warnAt?: number;
  readonly clearAt?: number;
  readonly stats?: () => HeapStats;
}

const MiB = 2 ** 20;

/** One check; returns whether the heap counts as near its ceiling afterwards. */
export function checkHeap(near: boolean, stats: HeapStats, log: Logger, warnAt = 0.8, clearAt = 0.7): boolean {
  if (!(stats.heap_size_limit > 0)) return near;
  const share = stats.used_heap_size / stats.heap_size_limit;
  const fields = { usedMiB: Math.round(stats.used_heap_size / MiB), limitMiB: Math.round(stats.heap_size_limit / MiB), share: Math.round(share * 100) / 100 };
  if (!near && share >= warnAt) {
    log.warn(
      fields,
      "heap near its ceiling: raise the heap ceiling (NODE_OPTIONS=--max-old-space-size, the chart's watcher.maxOldSpaceMiB) and the memory limit together",
    );
    return true;
  }
  if (near && share < clearAt) {
    log.info(fields, 'heap back under its ceiling');
    return false;
  }
  return near;
}

/** Starts the periodic check; the returned function stops it. The timer never keeps the process up. */
export function startHeapWatch(options: HeapWatchOptions): () => void {
  const stats = options.stats ?? (() => v8.getHeapStatistics());
  let near = false;
  const timer = setInterval(() => {
    near = checkHeap(near, stats(), options.log, options.warnAt, options.clearAt);
  }, options.intervalMs ?? 30_000);
  timer.unref();
  return () => clearInterval(timer);
}
