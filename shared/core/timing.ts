/**
 * Per-workload timing: the debounce window and the minimum interval between rollouts, overridden
 * by annotation on the workload's metadata or on its namespace (the workload wins); the watcher's
 * flags stay the default. Values are Go durations ("0s", "500ms", "10m"), from 0 to 24h; anything
 * else is ignored (the next level applies: namespace, then flag) and said so (`problems`), so a
 * typo never stalls or floods rollouts.
 */
import { Ours } from './annotations.js';
import { parseGoDuration } from './duration.js';
import { asRecord, getPath } from './json.js';
import { RESTART_WINDOW_KEYS } from './window.js';
import { WAVE_KEYS } from './waves.js';

export interface TimingOverrides {
  readonly debounceMs?: number;
  readonly minRolloutIntervalMs?: number;
  /** Values that were set but could not be used, one line each (never a decision). */
  readonly problems: readonly string[];
}

export const MAX_TIMING_MS = 24 * 3_600_000;
const NONE: TimingOverrides = Object.freeze({ problems: Object.freeze([]) as readonly string[] });

const TIMING_KEYS = [
  [Ours.debounce, 'debounceMs'],
  [Ours.minRolloutInterval, 'minRolloutIntervalMs'],
] as const;

/** The timing, restart-window (window.ts) and wave (waves.ts) keys of a namespace's annotations: all the watcher keeps of them. */
const NAMESPACE_KEPT_KEYS: readonly string[] = [...TIMING_KEYS.map(([key]) => key), ...RESTART_WINDOW_KEYS, ...WAVE_KEYS];

/** Our timing and restart-window keys among a namespace's annotations (all the watcher keeps of them). */
export function timingAnnotations(annotations: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (annotations === undefined) return out;
  for (const key of NAMESPACE_KEPT_KEYS) if (Object.hasOwn(annotations, key) && typeof annotations[key] === 'string') out[key] = annotations[key];
  return out;
}

/** The timing a workload asks for: its own annotations, else its namespace's. */
export function timingOverrides(object: unknown, namespaceAnnotations: Readonly<Record<string, string>>): TimingOverrides {
  const own = asRecord(getPath(object, ['metadata', 'annotations']));
  if (own === undefined && Object.keys(namespaceAnnotations).length === 0) return NONE;
  const out: { debounceMs?: number; minRolloutIntervalMs?: number } = {};
  const problems: string[] = [];
  for (const [key, field] of TIMING_KEYS) {
    const ownValue = own !== undefined && Object.hasOwn(own, key) && typeof own[key] === 'string' ? own[key] : undefined;
    // The workload's value, else (or when it is unusable) the namespace's, else the flag's.
    for (const [value, where] of [
      [ownValue, 'workload'],
      [namespaceAnnotations[key], 'namespace'],
    ] as const) {
      if (value === undefined) continue;
      const ms = parseGoDuration(value);
      if (ms !== undefined && ms >= 0 && ms <= MAX_TIMING_MS) {
        out[field] = Math.round(ms);
        break;
      }
      problems.push(`${where} annotation ${key}="${value.slice(0, 64)}" is not a duration from 0 to 24h (e.g. 500ms, 2s, 10m); ignored`);
    }
  }
  return problems.length === 0 && Object.keys(out).length === 0 ? NONE : { ...out, problems };
}
