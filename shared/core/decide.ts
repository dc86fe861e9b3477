/**
 * The decisions both processes share: what a workload's pods were rolled with, which tracked
 * sources drifted since, and what to write. The watcher rolls a workload only when a source it
 * recorded has a different digest now; a source it never recorded is adopted (written on the
 * workload's own metadata, which restarts nothing).
 */
import { Ours, Reloader } from './annotations.js';
import { asRecord, asString, asStringMap, getPath } from './json.js';
import type { JsonRecord } from './json.js';
import type { WorkloadKind } from './kinds.js';
import { parseGoDuration } from './duration.js';
import { buildStampMergePatch, setIn } from './patch.js';
import { recreatedObject } from './recreate.js';
import { sourceId } from './references.js';
import { SourceTable } from './source-table.js';
import { ABSENT } from './digest.js';
import { formatStamp, makeStamp, parseStamp } from './stamp.js';
import { parseVersions, versionsText } from './versions.js';
import type { VersionSeal } from './versions.js';
import type { Stamp, StampEntry } from './stamp.js';

export interface RecordedStamps {
  /** On the pod template: what the current pods were rolled with. */
  readonly template: Stamp | null;
  /** On the workload's metadata: what was current when configstamp adopted it. */
  readonly adopted: Stamp | null;
  /** On the workload's metadata, notify mode: the digests last notified. */
  readonly notified: Stamp | null;
  /**
   * On the workload's metadata, restart strategy: the digests the last restart applied, only while
   * the template stamp is the one they were applied over (a template change stamps afresh).
   */
  readonly restarted?: Stamp | null;
  /** On the workload's metadata: the resourceVersions the recorded digests were true at (versions.ts). */
  readonly versions?: SourceTable<string> | null;
}

/** The template stamp as written ("" for none): what a restart's or a re-keying's record applies over. */
function templateStampText(kind: WorkloadKind, object: unknown): string {
  return asString(getPath(object, [...kind.templatePath, 'metadata', 'annotations', Ours.stamp])) ?? '';
}

export function readRecorded(kind: WorkloadKind, object: unknown): RecordedStamps {
  // Read once: "" (none) parses as no stamp, as an absent or non-string value does.
  const templateText = templateStampText(kind, object);
  const own = asStringMap(getPath(object, ['metadata', 'annotations']));
  const restartedOver = own[Ours.restartedBase];
  return {
    template: parseStamp(templateText),
    adopted: parseStamp(own[Ours.adoptedStamp]),
    notified: parseStamp(own[Ours.notifiedStamp]),
    restarted: restartedOver !== undefined && restartedOver === templateText ? parseStamp(own[Ours.restartedStamp]) : null,
    versions: parseVersions(own[Ours.sourceVersions]),
  };
}

/**
 * Whether a workload restarts rather than rolls: its kind has a restart field (Argo's
 * spec.restartAt) and its own `rollout-strategy` annotation (ours, or Reloader's) says "restart",
 * or it runs another workload's template (Argo's workloadRef).
 */
export function restartsPods(kind: WorkloadKind, object: unknown): boolean {
  if (kind.restartPath === undefined) return false;
  // Running another workload's template (workloadRef), it has none of its own to change.
  if (kind.templateRefPath !== undefined && asRecord(getPath(object, kind.templateRefPath)) !== undefined) return true;
  const own = asStringMap(getPath(object, ['metadata', 'annotations']));
  return (own[Ours.rolloutStrategy] ?? own[Reloader.rolloutStrategy])?.trim().toLowerCase() === 'restart';
}

/** Template entries win; adopted entries fill in sources the template does not list. */
export function effectiveDigests(recorded: RecordedStamps): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of recorded.adopted ?? []) out.set(sourceId(e.kind, e.name), e.digest);
  for (const e of recorded.template ?? []) out.set(sourceId(e.kind, e.name), e.digest);
  return out;
}

export interface SourceChange {
  readonly kind: StampEntry['kind'];
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

export interface DriftOptions {
  /** Roll consumers when a source they recorded is deleted (off by default: pods could not start). */
  readonly rollOnDelete: boolean;
  /**
   * Notify mode (--webhook-url): a drift is notified instead of rolled, once: a change whose
   * current digest the notified stamp already holds is not notified again.
   */
  readonly notify?: boolean | undefined;
  /**
   * The time a restart writes (RFC 3339), for workloads that restart rather than roll
   * (restartsPods): the core has no clock, so the caller passes it.
   */
  readonly now?: string | undefined;
  /**
   * The pause period's annotation keys, ours first, then Reloader's (as this install names them):
   * a Deployment carrying a period is paused by its rollout and resumed when the period is over.
   */
  readonly pauseKeys?: { readonly period: readonly string[]; readonly pausedAt: readonly string[] } | undefined;
}

export interface Drift {
  /** Recorded sources whose digest differs now: each one is a reason to roll. */
  readonly changes: readonly SourceChange[];
  /** Tracked sources never recorded: adopted without a rollout. */
  readonly unrecorded: readonly StampEntry[];
  /**
   * Recorded sources whose digest differs although the source is still at the resourceVersion
   * recorded with it: their data is what the pods have, under another hash key. Re-keyed (their
   * current digests recorded over the template stamp), never rolled.
   */
  readonly rekeyed: readonly StampEntry[];
}

const NO_VERSIONS = new SourceTable<string>();

/** effectiveDigests as a table, which looks a source up without building its id; a restart's digests are the newest. */
export function recordedDigests(recorded: RecordedStamps): SourceTable<string> {
  const out = new SourceTable<string>();
  for (const e of recorded.adopted ?? []) out.set(e.kind, e.name, e.digest);
  for (const e of recorded.template ?? []) out.set(e.kind, e.name, e.digest);
  for (const e of recorded.restarted ?? []) out.set(e.kind, e.name, e.digest);
  return out;
}

/**
 * `versions`: the resourceVersion each current digest was taken at (evaluate.ts), which tells a
 * new hash key from new data.
 */
export function computeDrift(recorded: RecordedStamps, current: Stamp, options: DriftOptions, versions: SourceTable<string> = NO_VERSIONS): Drift {
  const known = recordedDigests(recorded);
  const changes: SourceChange[] = [];
  const unrecorded: StampEntry[] = [];
  const rekeyed: StampEntry[] = [];
  for (const entry of current) {
    const was = known.get(entry.kind, entry.name);
    if (was === undefined) unrecorded.push(entry);
    else if (was === entry.digest) continue;
    else if (sameVersion(recorded.versions, versions, entry)) rekeyed.push(entry);
    else if (entry.digest !== ABSENT || options.rollOnDelete) {
      changes.push({ kind: entry.kind, name: entry.name, from: was, to: entry.digest });
    }
  }
  return { changes, unrecorded, rekeyed };
}

function sameVersion(recorded: SourceTable<string> | null | undefined, current: SourceTable<string>, entry: StampEntry): boolean {
  const now = current.get(entry.kind, entry.name);
  return now !== undefined && recorded?.get(entry.kind, entry.name) === now;
}

export type ReconcileDecision =
  /** `wakeInMs`: reconcile again after this long (a pause period still running). */
  | { readonly action: 'none'; readonly wakeInMs?: number }
  /** The pause period is over: unpause, so the Deployment rolls once with what it has. */
  | { readonly action: 'resume'; readonly patch: JsonRecord; readonly pausedAtMs: number }
  /** `rekeyed`: recorded sources whose digests changed with the hash key alone (computeDrift). */
  | {
      readonly action: 'adopt';
      readonly adopted: Stamp;
      readonly patch: JsonRecord;
      readonly unrecorded: readonly StampEntry[];
      readonly rekeyed: readonly StampEntry[];
    }
  /**
   * `recreate`: a kind rolled by re-creation (a Job): delete the object and create this one under
   * the same name (the patch is then empty).
   */
  | { readonly action: 'rollout'; readonly stamp: Stamp; readonly patch: JsonRecord; readonly changes: readonly SourceChange[]; readonly recreate?: JsonRecord }
  | { readonly action: 'notify'; readonly stamp: Stamp; readonly patch: JsonRecord; readonly changes: readonly SourceChange[] };

/**
 * What the watcher should do for one workload given the tracked sources' current digests.
 * `resourceVersion` guards the patch against a concurrent write. `seal`, when given, seals the
 * versions written (versions.ts).
 */
export function decideReconcile(
  kind: WorkloadKind,
  object: unknown,
  current: Stamp,
  options: DriftOptions,
  versions: SourceTable<string> = NO_VERSIONS,
  seal?: VersionSeal,
): ReconcileDecision {
  const recorded = readRecorded(kind, object);
  const drift = computeDrift(recorded, current, options, versions);
  // None known (no port reports versions): a stale record goes, none is written where there was none.
  const recordOf = (stamp: Stamp) => versionsText(stamp, versions, seal) ?? (recorded.versions === null ? undefined : null);
  // Computed only by a branch that writes (sealing it is an HMAC, and most decisions write nothing).
  const sourceVersions = () => recordOf(current);
  const resourceVersion = asString(getPath(object, ['metadata', 'resourceVersion']));
  if (options.notify === true) {
    const notify = decideNotify(recorded, drift, resourceVersion, kind);
    if (notify !== undefined) return notify;
  } else if (drift.changes.length > 0 && kind.recreate === true) {
    const recreate = recreatedObject(kind, object, formatStamp(current), sourceVersions() ?? null);
    if (recreate !== undefined) return { action: 'rollout', stamp: current, patch: {}, changes: drift.changes, recreate };
  } else if (drift.changes.length > 0 && kind.restartPath !== undefined && options.now !== undefined && restartsPods(kind, object)) {
    // The template is left alone (changing it would roll through the template, not restart):
    // the restart time and what it applied are written together, so a restart is never lost or repeated.
    const base = templateStampText(kind, object);
    const patch = buildStampMergePatch(kind, {
      restart: { path: kind.restartPath, at: options.now, stamp: formatStamp(current), base },
      sourceVersions: sourceVersions(),
      resourceVersion,
    });
    return { action: 'rollout', stamp: current, patch, changes: drift.changes };
  } else if (drift.changes.length > 0) {
    const patch = buildStampMergePatch(kind, {
      templateStamp: formatStamp(current),
      adoptedStamp: recorded.adopted === null ? undefined : null,
      notifiedStamp: recorded.notified === null ? undefined : null,
      sourceVersions: sourceVersions(),
      resourceVersion,
    });
    // With a pause period the rollout pauses the Deployment in the same write, so changes that
    // follow within the period join it (Reloader's pause-period), and the pause is on record.
    const pause = pauseState(kind, object, options);
    if (pause !== undefined && pause.periodMs !== undefined && pause.pausedAtMs === undefined && !pause.paused && options.now !== undefined) {
      setIn(patch, kind.pausePath!, true);
      setIn(patch, ['metadata', 'annotations', Ours.pausedAt], options.now);
    }
    return { action: 'rollout', stamp: current, patch, changes: drift.changes };
  }
  if (drift.unrecorded.length > 0 || drift.rekeyed.length > 0) {
    // Every recorded digest is current after this write, except a change left pending (notified,
    // or not rolled for another reason): the versions are recorded for all the others, and not for
    // those, whose recorded digest is not of their version now.
    const adopted = makeStamp([...(recorded.adopted ?? []), ...drift.unrecorded]);
    const base = templateStampText(kind, object);
    const pending = new SourceTable<true>();
    for (const c of drift.changes) pending.set(c.kind, c.name, true);
    const patch = buildStampMergePatch(kind, {
      adoptedStamp: drift.unrecorded.length > 0 ? formatStamp(adopted) : undefined,
      over: drift.rekeyed.length > 0 ? { stamp: formatStamp(makeStamp([...(recorded.restarted ?? []), ...drift.rekeyed])), base } : undefined,
      sourceVersions: pending.size === 0 ? sourceVersions() : recordOf(current.filter((e) => pending.get(e.kind, e.name) === undefined)),
      resourceVersion,
    });
    return { action: 'adopt', adopted, patch, unrecorded: drift.unrecorded, rekeyed: drift.rekeyed };
  }
  return decidePause(kind, object, options, resourceVersion);
}

interface PauseState {
  readonly paused: boolean;
  readonly periodMs: number | undefined;
  /** When configstamp (or Reloader) paused it for the period; undefined when not paused so. */
  readonly pausedAtMs: number | undefined;
  readonly pausedAtKeys: readonly string[];
}

/** A pausable workload's pause: its spec.paused, its period, and whether the period paused it. */
function pauseState(kind: WorkloadKind, object: unknown, options: DriftOptions): PauseState | undefined {
  if (kind.pausePath === undefined || options.pauseKeys === undefined) return undefined;
  // Read in place, not copied (asStringMap): this runs on every decision about a Deployment.
  const raw = asRecord(getPath(object, ['metadata', 'annotations']));
  const own = (key: string): string | undefined => (raw !== undefined && Object.hasOwn(raw, key) && typeof raw[key] === 'string' ? raw[key] : undefined);
  const periodText = options.pauseKeys.period.map(own).find((v) => v !== undefined);
  const period = periodText === undefined ? undefined : parseGoDuration(periodText);
  const pausedAtKeys = options.pauseKeys.pausedAt.filter((k) => own(k) !== undefined);
  const pausedAt = pausedAtKeys.length > 0 ? Date.parse(own(pausedAtKeys[0]!)!) : undefined;
  return {
    paused: getPath(object, kind.pausePath) === true,
    periodMs: period !== undefined && period > 0 ? period : undefined,
    pausedAtMs: pausedAt === undefined ? undefined : Number.isNaN(pausedAt) ? 0 : pausedAt,
    pausedAtKeys,
  };
}

/**
 * A Deployment paused for its pause period is resumed once the period is over (a pause record
 * that does not parse, or a period removed since, resumes at once), durably: the record is on
 * the object, so a watcher restart or a new leader resumes it too. A Deployment its user
 * paused (no record) is left alone.
 */
function decidePause(kind: WorkloadKind, object: unknown, options: DriftOptions, resourceVersion: string | undefined): ReconcileDecision {
  const pause = pauseState(kind, object, options);
  if (pause === undefined || pause.pausedAtMs === undefined || options.now === undefined) return { action: 'none' };
  const dueMs = pause.pausedAtMs + (pause.periodMs ?? 0);
  const nowMs = Date.parse(options.now);
  if (pause.paused && nowMs < dueMs) return { action: 'none', wakeInMs: dueMs - nowMs };
  const patch: JsonRecord = {};
  if (pause.paused) setIn(patch, kind.pausePath!, false);
  for (const key of pause.pausedAtKeys) setIn(patch, ['metadata', 'annotations', key], null);
  if (resourceVersion !== undefined) setIn(patch, ['metadata', 'resourceVersion'], resourceVersion);
  return { action: 'resume', patch, pausedAtMs: pause.pausedAtMs };
}

/**
 * Notify mode never touches the template. The notified stamp on the metadata holds, for each
 * source that drifted from what the pods were rolled with, the digest last notified: a change is
 * notified when its digest is not there yet. It is rewritten to exactly the drifted sources' digests,
 * so a source changed back (no drift) and then changed again is notified again.
 */
function decideNotify(recorded: RecordedStamps, drift: Drift, resourceVersion: string | undefined, kind: WorkloadKind): ReconcileDecision | undefined {
  const notified = new SourceTable<string>();
  for (const e of recorded.notified ?? []) notified.set(e.kind, e.name, e.digest);
  const changes = drift.changes.filter((c) => notified.get(c.kind, c.name) !== c.to);
  const desired = makeStamp(drift.changes.map((c) => ({ kind: c.kind, name: c.name, digest: c.to })));
  const text = desired.length === 0 ? null : formatStamp(desired);
  const before = recorded.notified === null || recorded.notified.length === 0 ? null : formatStamp(recorded.notified);
  if (changes.length === 0 && text === before) return undefined;
  const patch = buildStampMergePatch(kind, { notifiedStamp: text, resourceVersion });
  return { action: 'notify', stamp: desired, patch, changes };
}
