/**
 * The one evaluation both processes run: which sources a workload tracks and the stamp they call
 * for now (references → wanted sources → the sources' own say → digests → stamp), and for the
 * watcher the decision that follows. The process supplies only how facts are obtained, through
 * an EvaluationPort: the webhook reads fresh from the API server at admission, the watcher answers
 * from its cache and its per-version digests. The steps, and their order, live here alone.
 */
import { Ours } from './annotations.js';
import { decideReconcile } from './decide.js';
import { stampDigests } from './digest.js';
import type { DriftOptions, ReconcileDecision } from './decide.js';
import { getPath } from './json.js';
import type { SourceKind, WorkloadKind } from './kinds.js';
import { planTracking, selectTrackedSources } from './policy.js';
import type { NamespaceView, PolicyOptions, SourceCatalog, TrackedSource, TrackingPlan } from './policy.js';
import { extractReferences } from './references.js';
import { SourceTable } from './source-table.js';
import { makeStamp } from './stamp.js';
import { hasRecordableVersions, isRecordableVersion } from './versions.js';
import type { VersionSeal } from './versions.js';
import type { KeySelection } from './references.js';
import type { Stamp } from './stamp.js';

export type WantedPlan = Extract<TrackingPlan, { tracked: true }>;

/** How one process obtains the facts the evaluation needs. */
export interface EvaluationPort {
  /** What is known of the sources the plan wants (and, for its name patterns, of their kinds). */
  catalog(plan: WantedPlan): SourceCatalog | Promise<SourceCatalog>;
  /** The current keyed digest of each tracked source, in the same order (ABSENT for a missing one). */
  digests(tracked: readonly TrackedSource[]): readonly string[] | Promise<readonly string[]>;
  /**
   * Asked after `digests`: the resourceVersion of each source as it was digested, in the same
   * order (undefined for one absent, or with no single version). What the record's versions say.
   */
  versions?(tracked: readonly TrackedSource[]): readonly (string | undefined)[];
  /** The hash key the digests were taken with, which seals the record's versions (versions.ts). */
  hashKey?(): Uint8Array | undefined;
}

export interface WorkloadInput {
  readonly kind: WorkloadKind;
  /** The workload as the API has it. */
  readonly object: unknown;
  readonly namespace: NamespaceView;
  readonly policy: PolicyOptions;
}

export interface Tracking {
  readonly plan: TrackingPlan;
  readonly tracked: readonly TrackedSource[];
}

export interface Evaluation extends Tracking {
  readonly stamp: Stamp;
  /** The resourceVersion each tracked source was digested at, where the port knows it. */
  readonly versions: SourceTable<string>;
  /** What seals the record of these versions, when the port has the hash key. */
  readonly seal?: VersionSeal | undefined;
}

/** Step one: the sources a workload wants, from its references and annotations. */
export function wantedSources(input: WorkloadInput): TrackingPlan {
  const refs = extractReferences(getPath(input.object, input.kind.templatePath));
  return planTracking({ kind: input.kind, object: input.object }, refs, input.namespace, input.policy);
}

/** Steps one and two, for a caller whose catalog is already at hand (the watcher's index, its warm-up). */
export function trackWorkload(input: WorkloadInput, catalog: SourceCatalog): Tracking {
  const plan = wantedSources(input);
  return { plan, tracked: selectTrackedSources(plan, catalog, input.policy) };
}

const UNTRACKED: readonly TrackedSource[] = [];

/** The whole evaluation: what is tracked and the stamp it calls for now. */
export async function evaluateWorkload(input: WorkloadInput, port: EvaluationPort): Promise<Evaluation> {
  const plan = wantedSources(input);
  if (!plan.tracked) return { plan, tracked: UNTRACKED, stamp: [], versions: new SourceTable() };
  const tracked = selectTrackedSources(plan, await port.catalog(plan), input.policy);
  const digests = await port.digests(tracked);
  const hashKey = port.hashKey?.();
  return {
    plan,
    tracked,
    stamp: stampOf(tracked, digests),
    versions: versionsOf(tracked, port.versions?.(tracked)),
    seal: hashKey === undefined ? undefined : { hashKey, namespace: input.namespace.name, keysOf: keysOfTracked(tracked) },
  };
}

/**
 * The keys consumed of a tracked source, looked up by kind and name: the table is built on the
 * first lookup, so an evaluation that writes no record (most of the watcher's) never builds it.
 */
export function keysOfTracked(tracked: readonly TrackedSource[]): (kind: SourceKind, name: string) => KeySelection | undefined {
  let table: SourceTable<KeySelection> | undefined;
  return (kind, name) => {
    if (table === undefined) {
      table = new SourceTable<KeySelection>();
      for (const t of tracked) table.set(t.kind, t.name, t.keys);
    }
    return table.get(kind, name);
  };
}

/** The versions a port reports for tracked sources, as a table (empty when it reports none). */
export function versionsOf(tracked: readonly TrackedSource[], versions: readonly (string | undefined)[] | undefined): SourceTable<string> {
  const out = new SourceTable<string>();
  if (versions !== undefined) {
    for (let i = 0; i < tracked.length; i++) {
      const v = versions[i];
      if (isRecordableVersion(v) && hasRecordableVersions(tracked[i]!.kind)) out.set(tracked[i]!.kind, tracked[i]!.name, v);
    }
  }
  return out;
}

/** Looks up a fetched source: its object, or null when it does not exist. */
export type SourceObjects = (kind: TrackedSource['kind'], name: string) => unknown | null;

/**
 * The digests of tracked sources from their data, in one batch (the webhook's port, which reads
 * every source fresh at admission).
 */
export function digestsFromData(hashKey: Uint8Array, namespace: string, tracked: readonly TrackedSource[], objects: SourceObjects): string[] {
  return stampDigests(
    hashKey,
    tracked.map((t) => ({ id: { kind: t.kind, namespace, name: t.name }, keys: t.keys, object: objects(t.kind, t.name) })),
  );
}

/** The stamp of tracked sources and their digests, in the same order. */
export function stampOf(tracked: readonly TrackedSource[], digests: readonly string[]): Stamp {
  const entries = new Array<{ kind: TrackedSource['kind']; name: string; digest: string }>(tracked.length);
  for (let i = 0; i < tracked.length; i++) entries[i] = { kind: tracked[i]!.kind, name: tracked[i]!.name, digest: digests[i]! };
  return makeStamp(entries);
}

export interface WorkloadDecision extends Evaluation {
  readonly decision: ReconcileDecision;
}

const NONE: ReconcileDecision = { action: 'none' };
const OUR_PAUSE_KEYS = Object.freeze({ period: Object.freeze([Ours.pausePeriod]), pausedAt: Object.freeze([Ours.pausedAt]) });

/** The evaluation and the watcher's decision for it (roll, adopt, notify or nothing). */
export async function decideWorkload(input: WorkloadInput, port: EvaluationPort, options: DriftOptions): Promise<WorkloadDecision> {
  const evaluation = await evaluateWorkload(input, port);
  if (!evaluation.plan.tracked) return { ...evaluation, decision: NONE };
  // Resolved once per configuration (reloaderKeyTable), not per decision.
  const pauseKeys = input.kind.pausePath === undefined ? undefined : input.policy.reloaderCompat ? input.policy.reloaderKeys.pause : OUR_PAUSE_KEYS;
  return {
    ...evaluation,
    decision: decideReconcile(input.kind, input.object, evaluation.stamp, { ...options, pauseKeys }, evaluation.versions, evaluation.seal),
  };
}
