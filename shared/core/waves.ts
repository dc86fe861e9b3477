/**
 * Health-gated waves: when one change of a source is consumed by many workloads, they roll in
 * waves of `size`, each wave only once every workload of the waves before it has completed its
 * rollout with the change (shared/core/progress.ts). A workload of an earlier wave whose rollout
 * failed (its controller says so, or it was not complete within the timeout) halts the remaining
 * waves of that change.
 *
 * Level-based, like everything else: which workloads have the change is what their stamps say,
 * and whether they are healthy is what their statuses say, so the waves of a change are the same
 * after a watcher restart or a leader change. A later change of the source (the fix) is another
 * change: every consumer lacks it, so it starts again from the first wave. An explicit resume
 * accepts named failures for the change they were rolled with (a token: the workload and the
 * first 8 hex of its digest of the source), so it never carries over to the next change.
 *
 * Settings: the wave size and timeout come from the source's annotations, else its namespace's,
 * else the flags; a workload's `configstamp.io/wave-order` orders it (lower first; canaries),
 * workloads without one after all that have one, ties by kind/namespace/name.
 */
import { Ours } from './annotations.js';
import { parseGoDuration } from './duration.js';
import type { Progress } from './progress.js';

export interface WaveSettings {
  /** Workloads per wave; 0: no waves (every consumer rolls as soon as it may). */
  readonly size: number;
  /** A rollout of an earlier wave not complete this long after it was first seen counts as failed (ms; 0: never). */
  readonly timeoutMs: number;
  /** Annotation values that were set but could not be used, one line each. */
  readonly problems: readonly string[];
}

export const MAX_WAVE_SIZE = 10_000;
const MAX_WAVE_TIMEOUT_MS = 24 * 3_600_000;

/** The keys read on sources and namespaces (the namespace's are kept by the watcher; resume tokens there serve a SecretProviderClass). */
export const WAVE_KEYS: readonly string[] = [Ours.waveSize, Ours.waveTimeout, Ours.wavesResume];

/** The wave settings of a source: its annotations, else its namespace's, else the flags. */
export function waveSettings(
  sourceAnnotations: Readonly<Record<string, string>>,
  namespaceAnnotations: Readonly<Record<string, string>>,
  defaults: { readonly size: number; readonly timeoutMs: number },
): WaveSettings {
  const problems: string[] = [];
  const pick = <T>(key: string, parse: (v: string) => T | undefined, what: string): T | undefined => {
    for (const [annotations, where] of [
      [sourceAnnotations, 'source'],
      [namespaceAnnotations, 'namespace'],
    ] as const) {
      const value = annotations[key];
      if (typeof value !== 'string') continue;
      const parsed = parse(value.trim());
      if (parsed !== undefined) return parsed;
      problems.push(`${where} annotation ${key}="${value.slice(0, 64)}" is not ${what}; ignored`);
    }
    return undefined;
  };
  const size = pick(Ours.waveSize, (v) => (/^\d+$/.test(v) && Number(v) <= MAX_WAVE_SIZE ? Number(v) : undefined), `a whole number from 0 to ${MAX_WAVE_SIZE}`);
  const timeoutMs = pick(
    Ours.waveTimeout,
    (v) => {
      const ms = parseGoDuration(v);
      return ms !== undefined && ms >= 0 && ms <= MAX_WAVE_TIMEOUT_MS ? Math.round(ms) : undefined;
    },
    'a duration from 0 to 24h (e.g. 5m)',
  );
  return { size: size ?? defaults.size, timeoutMs: timeoutMs ?? defaults.timeoutMs, problems };
}

/** A workload's place in the waves: `configstamp.io/wave-order`, a whole number (-1000000..1000000), or undefined. */
export function waveOrder(annotations: Readonly<Record<string, unknown>> | undefined): number | undefined {
  const value = annotations?.[Ours.waveOrder];
  if (typeof value !== 'string' || !/^-?\d{1,7}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** One consumer of the change, as the waves see it. */
export interface WaveMember {
  /** Its identity (kind/namespace/name): the tie-break of the order, and what Events name. */
  readonly key: string;
  readonly order: number | undefined;
  /** Its template carries the source as it is now (rolled with the change, or never affected by it). */
  readonly upToDate: boolean;
  /** Its rollout state (undefined: its kind has nothing to wait for). */
  readonly progress: Progress | undefined;
  /** Up to date but not complete for longer than the timeout. */
  readonly timedOut: boolean;
  /** Its resume token: `<Kind>/<name>@<first 8 hex of its digest of the source>`. */
  readonly token: string;
}

export type WaveVerdict =
  | { readonly go: true; readonly wave: number; readonly waves: number }
  | { readonly go: false; readonly halted: false; readonly wave: number; readonly waves: number; readonly waitingOn: readonly WaveMember[] }
  | { readonly go: false; readonly halted: true; readonly wave: number; readonly waves: number; readonly failed: readonly WaveMember[] };

/** Lower order first, unordered last, then by key. */
export function waveSort(members: readonly WaveMember[]): WaveMember[] {
  return [...members].sort((a, b) => (a.order ?? Infinity) - (b.order ?? Infinity) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * May `self` roll with the change now? It may when it is in the first wave, or every workload of
 * the waves before it has the change and has completed; it waits while one of them has not; it
 * is halted when one of them failed (and its failure is not among the `accepted` tokens).
 */
export function waveVerdict(members: readonly WaveMember[], self: string, size: number, accepted: ReadonlySet<string> = new Set()): WaveVerdict {
  const sorted = waveSort(members);
  const index = sorted.findIndex((m) => m.key === self);
  const waves = size > 0 ? Math.max(1, Math.ceil(sorted.length / size)) : 1;
  if (size <= 0 || index < 0) return { go: true, wave: 1, waves };
  const wave = Math.floor(index / size) + 1;
  const earlier = sorted.slice(0, (wave - 1) * size);
  const failed = earlier.filter((m) => m.upToDate && (m.progress === 'failed' || m.timedOut) && !accepted.has(m.token));
  if (failed.length > 0) return { go: false, halted: true, wave, waves, failed };
  const waitingOn = earlier.filter(
    (m) => !m.upToDate || (!accepted.has(m.token) && (m.progress === 'progressing' || m.progress === 'unavailable') && !m.timedOut),
  );
  return waitingOn.length > 0 ? { go: false, halted: false, wave, waves, waitingOn } : { go: true, wave, waves };
}

/** The accepted failures a source's resume annotation lists (comma-separated tokens). */
export function resumeTokens(annotations: Readonly<Record<string, string>> | undefined): ReadonlySet<string> {
  const value = annotations?.[Ours.wavesResume];
  if (typeof value !== 'string') return new Set();
  return new Set(
    value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s.length <= 512),
  );
}

/** What a hold says: "wave 2 of 5: waiting for Deployment/web to complete" or "halted: ... failed". */
export function describeWaves(verdict: Exclude<WaveVerdict, { go: true }>, source: string): string {
  const names = (ms: readonly WaveMember[]): string =>
    ms
      .slice(0, 5)
      .map((m) => m.key)
      .join(', ') + (ms.length > 5 ? ` and ${ms.length - 5} more` : '');
  if (!verdict.halted) return `wave ${verdict.wave} of ${verdict.waves} of ${source}: waiting for ${names(verdict.waitingOn)} to complete`;
  const why = verdict.failed.map((m) => `${m.key} ${m.progress === 'failed' ? 'failed' : 'did not complete in time'}`).join(', ');
  return `held: wave ${verdict.wave} of ${verdict.waves} of ${source}; ${why}`;
}
