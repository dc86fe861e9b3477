/**
 * Restart windows: when a workload's rollouts may start. A policy is one JSON object, in the format
 * of Reloader's restart-window proposal (stakater/Reloader PR #1214), on the workload's metadata or
 * its namespace's (the workload wins), under our key or Reloader's:
 *
 *   {"timezone":"Europe/Berlin","windows":[{"cron":"0 2 * * *","duration":"1h"}]}
 *
 * - `timezone`: an IANA name, required ("Local" and "" are refused: a window must not move with
 *   the machine the watcher runs on).
 * - `windows`: 1 to 16, each a five-field cron expression (minute hour day-of-month month
 *   day-of-week; day-of-month and day-of-week combine with OR, as in Vixie cron and Reloader's
 *   parser; no `TZ=` prefix: the zone is the policy's) and a Go duration from 1m to 24h.
 * - A window is open over [start, start + duration); the workload is open while any window is.
 *   A window bounds when a rollout starts, not when it finishes.
 * - Unknown fields, trailing data and an empty value are errors. A policy that cannot be read is
 *   closed (fail closed, as Reloader's): the rollout waits until the annotation is fixed or removed,
 *   and the watcher says why, so a typo never restarts production outside its window.
 *
 * Pure: the caller passes the time.
 */
import { Cron } from 'croner';
import { Ours, Reloader } from './annotations.js';
import { parseGoDuration } from './duration.js';
import { asRecord, getPath } from './json.js';

export interface RestartWindow {
  readonly cron: string;
  readonly durationMs: number;
  readonly schedule: Cron;
}

export interface RestartWindowPolicy {
  readonly timezone: string;
  readonly windows: readonly RestartWindow[];
}

export const MAX_WINDOWS = 16;
const MIN_DURATION_MS = 60_000;
const MAX_DURATION_MS = 24 * 3_600_000;
const MAX_VALUE_LENGTH = 4_096;

/** Reads a policy's JSON; the policy, or a one-line error saying what is wrong. */
export function parseRestartWindow(value: string): RestartWindowPolicy | { readonly error: string } {
  if (value.trim() === '') return { error: 'empty: remove the annotation to have no window' };
  if (value.length > MAX_VALUE_LENGTH) return { error: `longer than ${MAX_VALUE_LENGTH} characters` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { error: 'not JSON: expected {"timezone":"…","windows":[{"cron":"…","duration":"…"}]}' };
  }
  const policy = asRecord(parsed);
  if (policy === undefined) return { error: 'not a JSON object' };
  const unknown = Object.keys(policy).filter((k) => k !== 'timezone' && k !== 'windows');
  if (unknown.length > 0) return { error: `unknown field ${JSON.stringify(unknown[0]!.slice(0, 64))}` };
  const timezone = policy.timezone;
  if (typeof timezone !== 'string' || timezone === '' || timezone === 'Local')
    return { error: 'timezone: an explicit IANA time zone is required (e.g. "UTC", "Europe/Berlin")' };
  if (!isTimeZone(timezone)) return { error: `timezone ${JSON.stringify(timezone.slice(0, 64))} is not an IANA time zone` };
  const windows = policy.windows;
  if (!Array.isArray(windows) || windows.length < 1 || windows.length > MAX_WINDOWS) return { error: `windows: expected 1 to ${MAX_WINDOWS} windows` };
  const out: RestartWindow[] = [];
  for (const [i, raw] of windows.entries()) {
    const w = asRecord(raw);
    if (w === undefined) return { error: `windows[${i}]: not an object` };
    const extra = Object.keys(w).filter((k) => k !== 'cron' && k !== 'duration');
    if (extra.length > 0) return { error: `windows[${i}]: unknown field ${JSON.stringify(extra[0]!.slice(0, 64))}` };
    if (typeof w.cron !== 'string' || w.cron.trim() === '') return { error: `windows[${i}].cron: a five-field cron expression is required` };
    if (/TZ=/i.test(w.cron)) return { error: `windows[${i}].cron: set the time zone in "timezone", not in the cron expression` };
    const fields = w.cron.trim().split(/\s+/);
    if (fields.length !== 5) return { error: `windows[${i}].cron "${w.cron.slice(0, 64)}": expected five fields (minute hour day-of-month month day-of-week)` };
    let schedule: Cron;
    try {
      schedule = new Cron(fields.join(' '), { timezone, paused: true, mode: '5-part', domAndDow: false });
    } catch (err) {
      return { error: `windows[${i}].cron "${w.cron.slice(0, 64)}": ${err instanceof Error ? err.message : String(err)}` };
    }
    const durationMs = typeof w.duration === 'string' ? parseGoDuration(w.duration) : undefined;
    if (durationMs === undefined || durationMs < MIN_DURATION_MS || durationMs > MAX_DURATION_MS) {
      return { error: `windows[${i}].duration: a Go duration from 1m to 24h is required (e.g. "30m", "2h")` };
    }
    if (schedule.nextRun(new Date(0)) === null) return { error: `windows[${i}].cron "${w.cron.slice(0, 64)}" never matches a time` };
    out.push({ cron: fields.join(' '), durationMs, schedule });
  }
  return { timezone, windows: out };
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Whether a window is open at `nowMs`: open (and until when), or closed (and when it opens next). */
export function windowAt(
  policy: RestartWindowPolicy,
  nowMs: number,
): { readonly open: true; readonly closesAt: number } | { readonly open: false; readonly opensAt: number | undefined } {
  let closesAt: number | undefined;
  let opensAt: number | undefined;
  const now = new Date(nowMs);
  for (const w of policy.windows) {
    // The first start after now - duration is the latest one whose window may still hold now.
    const start = w.schedule.nextRun(new Date(nowMs - w.durationMs))?.getTime();
    if (start !== undefined && start <= nowMs) closesAt = Math.max(closesAt ?? 0, start + w.durationMs);
    const next = start !== undefined && start > nowMs ? start : w.schedule.nextRun(now)?.getTime();
    if (next !== undefined) opensAt = Math.min(opensAt ?? Infinity, next);
  }
  return closesAt !== undefined ? { open: true, closesAt } : { open: false, opensAt };
}

/** A time as a user reads it in the policy's zone: "2026-12-02 02:00 Europe/Berlin". */
export function formatInZone(ms: number, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timezone}`;
}

/** The keys a namespace's annotations are read under, ours first (the watcher keeps these). */
export const RESTART_WINDOW_KEYS: readonly string[] = [Ours.restartWindow, Reloader.restartWindow];

/** Where a workload's policy comes from, and what it says now. */
export type WindowVerdict =
  | { readonly state: 'none' }
  | { readonly state: 'open'; readonly closesAt: number; readonly where: string }
  | { readonly state: 'closed'; readonly opensAt: number | undefined; readonly timezone: string; readonly where: string }
  | { readonly state: 'invalid'; readonly error: string; readonly where: string };

/** Parsed policies by value: a reconcile reads the same few values again and again. */
const parsedCache = new Map<string, RestartWindowPolicy | { readonly error: string }>();
const PARSED_CACHE_MAX = 512;

function parseCached(value: string): RestartWindowPolicy | { readonly error: string } {
  let parsed = parsedCache.get(value);
  if (parsed === undefined) {
    if (parsedCache.size >= PARSED_CACHE_MAX) parsedCache.clear();
    parsedCache.set(value, (parsed = parseRestartWindow(value)));
  }
  return parsed;
}

/**
 * The restart window a workload is under at `nowMs`: its own annotation (ours, then Reloader's when
 * `reloaderKeys`), else its namespace's; `none` when neither sets one.
 */
export function restartWindowVerdict(
  object: unknown,
  namespaceAnnotations: Readonly<Record<string, string>>,
  nowMs: number,
  reloaderKeys: boolean,
): WindowVerdict {
  const own = asRecord(getPath(object, ['metadata', 'annotations']));
  const keys = reloaderKeys ? RESTART_WINDOW_KEYS : RESTART_WINDOW_KEYS.slice(0, 1);
  let found: { value: string; where: string } | undefined;
  for (const key of keys) {
    if (own !== undefined && typeof own[key] === 'string') {
      found = { value: own[key], where: `workload annotation ${key}` };
      break;
    }
  }
  if (found === undefined) {
    for (const key of keys) {
      if (typeof namespaceAnnotations[key] === 'string') {
        found = { value: namespaceAnnotations[key], where: `namespace annotation ${key}` };
        break;
      }
    }
  }
  if (found === undefined) return { state: 'none' };
  const policy = parseCached(found.value);
  if ('error' in policy) return { state: 'invalid', error: policy.error, where: found.where };
  const at = windowAt(policy, nowMs);
  return at.open
    ? { state: 'open', closesAt: at.closesAt, where: found.where }
    : { state: 'closed', opensAt: at.opensAt, timezone: policy.timezone, where: found.where };
}

/** What `plan` and Events say of a closed or unreadable window. */
export function describeWindow(verdict: Exclude<WindowVerdict, { state: 'none' | 'open' }>): string {
  if (verdict.state === 'invalid') return `held: the restart window (${verdict.where}) cannot be read: ${verdict.error}; fix or remove it`;
  const when = verdict.opensAt === undefined ? 'the window never opens again' : `pending until ${formatInZone(verdict.opensAt, verdict.timezone)}`;
  return `${when} (restart window, ${verdict.where})`;
}
