/**
 * Whether a workload is tracked, and which of its sources. Two steps, both pure:
 * `planTracking` reads the workload, its namespace and the cluster options and says which
 * sources it wants (referenced ones, named ones, name patterns); `selectTrackedSources` then
 * applies what only the sources themselves can say (ignore, match, labels) once the caller has
 * fetched their metadata. Reloader's keys are read as Reloader reads them (docs/annotations.md).
 */
import { OUR_SELECTING_KEYS, Ours, Reloader, Wave, readBool, readGoBool, readList, selectingKeys } from './annotations.js';
import type { ReloaderKeys } from './annotations.js';
import { asArray, asRecord, asStringMap, getPath } from './json.js';
import { HELM_RELEASE_TYPE, SOURCE_KINDS, WORKLOAD_KINDS, isPodStatusKind } from './kinds.js';
import type { SourceKind, WorkloadKind } from './kinds.js';
import { ALL_KEYS, isSourceName, mergeSelections, sourceId } from './references.js';
import type { KeySelection, SourceRef } from './references.js';
import { matchesLabels } from './selector.js';
import type { LabelSelector } from './selector.js';
import { SourceTable } from './source-table.js';

export interface PolicyOptions {
  /** Track every workload unless it opts out (Reloader's --auto-reload-all). */
  readonly trackAll: boolean;
  /** Honour reloader.stakater.com annotations. */
  readonly reloaderCompat: boolean;
  /** Honour wave.pusher.com annotations. */
  readonly waveCompat: boolean;
  readonly ignoredWorkloadKinds: ReadonlySet<string>;
  readonly ignoredSourceKinds: ReadonlySet<SourceKind>;
  readonly namespacesToIgnore: ReadonlySet<string>;
  /** A scoped install (--namespaces): only these namespaces are tracked; null means all. */
  readonly namespaceScope: ReadonlySet<string> | null;
  readonly namespaceSelector: LabelSelector | null;
  readonly sourceSelector: LabelSelector | null;
  /** Reloader's annotation keys as this install names them; build with `reloaderKeyTable`. */
  readonly reloaderKeys: ReloaderKeyTable;
  /** Every workload kind of this install: the built-in rows and any --extra-workload-kinds. */
  readonly workloadKinds: readonly WorkloadKind[];
  /** Jobs (kinds that roll by being re-created) are tracked without their own opt-in (--recreate-jobs). */
  readonly recreateJobs: boolean;
}

/**
 * Reloader's keys resolved once per configuration (planTracking runs per decision): the keys, the
 * selecting keys among them, and each source kind's.
 */
export interface ReloaderKeyTable {
  readonly keys: ReloaderKeys;
  readonly selecting: readonly string[];
  readonly kind: Readonly<Record<SourceKind, { readonly reload: string; readonly auto: string; readonly exclude: string }>>;
  /** The pause period's keys, ours first, then Reloader's (DriftOptions.pauseKeys). */
  readonly pause: { readonly period: readonly string[]; readonly pausedAt: readonly string[] };
}

export function reloaderKeyTable(overrides: Partial<ReloaderKeys> = {}): ReloaderKeyTable {
  const keys = Object.freeze({ ...Reloader, ...overrides });
  return Object.freeze({
    keys,
    selecting: Object.freeze(selectingKeys(keys)),
    kind: Object.freeze({
      ConfigMap: Object.freeze({ reload: keys.configMapReload, auto: keys.configMapAuto, exclude: keys.excludeConfigMaps }),
      Secret: Object.freeze({ reload: keys.secretReload, auto: keys.secretAuto, exclude: keys.excludeSecrets }),
      SecretProviderClass: Object.freeze({
        reload: keys.secretProviderClassReload,
        auto: keys.secretProviderClassAuto,
        exclude: keys.excludeSecretProviderClasses,
      }),
    }),
    pause: Object.freeze({ period: Object.freeze([Ours.pausePeriod, keys.pausePeriod]), pausedAt: Object.freeze([Ours.pausedAt, keys.pausedAt]) }),
  });
}

export const DEFAULT_POLICY: PolicyOptions = Object.freeze({
  trackAll: false,
  reloaderCompat: true,
  waveCompat: true,
  ignoredWorkloadKinds: new Set<string>(),
  ignoredSourceKinds: new Set<SourceKind>(),
  namespacesToIgnore: new Set<string>(),
  namespaceScope: null,
  namespaceSelector: null,
  sourceSelector: null,
  reloaderKeys: reloaderKeyTable(),
  workloadKinds: WORKLOAD_KINDS,
  recreateJobs: false,
});

export interface WorkloadView {
  readonly kind: WorkloadKind;
  /** The workload object as the API has it (metadata, spec). */
  readonly object: unknown;
}

export interface NamespaceView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A source the workload wants tracked before the sources' own metadata is known. */
export interface SourceWant extends SourceRef {
  /** Named on the workload (not only referenced): search/match does not apply. */
  readonly named: boolean;
}

/** A Reloader reload-list entry that is a regular expression, matched against source names. */
export interface NamePattern {
  readonly kind: SourceKind;
  readonly regex: RegExp;
}

export type TrackingPlan =
  | { readonly tracked: false; readonly reason: string }
  | {
      readonly tracked: true;
      readonly reason: string;
      readonly wants: readonly SourceWant[];
      readonly patterns: readonly NamePattern[];
      /** Reloader's search mode: referenced sources count only when they carry `match`. */
      readonly search: boolean;
      /** The kinds search mode applies to: those not tracked wholesale (auto wins, per kind). */
      readonly searchKinds: ReadonlySet<SourceKind>;
      readonly excluded: ReadonlySet<string>;
    };

/** Our and Wave's per-kind keys (Reloader's come from the options: they can be renamed). Wave knows no CSI. */
const KIND_KEYS: Readonly<Record<SourceKind, { readonly ours: string; readonly excludeOurs: string; readonly wave: string | undefined }>> = {
  ConfigMap: { ours: Ours.configMaps, excludeOurs: Ours.excludeConfigMaps, wave: Wave.extraConfigMaps },
  Secret: { ours: Ours.secrets, excludeOurs: Ours.excludeSecrets, wave: Wave.extraSecrets },
  SecretProviderClass: { ours: Ours.secretProviderClasses, excludeOurs: Ours.excludeSecretProviderClasses, wave: undefined },
};

/**
 * Annotations of the workload, or of its pod template when the workload has none of the selecting
 * keys (Reloader's only when reloaderCompat is on: otherwise they are not ours to read at all).
 */
function selectingAnnotations(view: WorkloadView, options: PolicyOptions): { ann: Readonly<Record<string, string>>; own: Readonly<Record<string, string>> } {
  const keys = options.reloaderCompat ? options.reloaderKeys.selecting : OUR_SELECTING_KEYS;
  const own = asStringMap(getPath(view.object, ['metadata', 'annotations']));
  if (keys.some((key) => Object.hasOwn(own, key))) return { ann: own, own };
  const template = asStringMap(getPath(view.object, [...view.kind.templatePath, 'metadata', 'annotations']));
  return { ann: keys.some((key) => Object.hasOwn(template, key)) ? template : own, own };
}

/**
 * Why a kind that rolls by being re-created (a Job) is left alone, or undefined when it may be
 * re-created: it must opt in (its own annotation, or --recreate-jobs), and a Job its controller
 * owns (a CronJob's run) belongs to that controller, which is tracked in its own right.
 */
function recreateVerdict(view: WorkloadView, options: PolicyOptions): string | undefined {
  const own = asStringMap(getPath(view.object, ['metadata', 'annotations']));
  const optIn = readBool(own[Ours.recreate]) ?? options.recreateJobs;
  if (!optIn) return `${view.kind.kind}s are re-created only when they opt in (${Ours.recreate}: "true", or --recreate-jobs)`;
  for (const ref of asArray(getPath(view.object, ['metadata', 'ownerReferences']))) {
    const r = asRecord(ref);
    if (r?.controller === true) return `owned by ${String(r.kind)} ${String(r.name)}, which is tracked in its own right`;
  }
  return undefined;
}

function namespaceVerdict(ns: NamespaceView, options: PolicyOptions): string | undefined {
  if (options.namespaceScope !== null && !options.namespaceScope.has(ns.name)) return `namespace ${ns.name} is outside --namespaces`;
  if (options.namespacesToIgnore.has(ns.name)) return `namespace ${ns.name} is ignored`;
  if (options.namespaceSelector && !matchesLabels(options.namespaceSelector, ns.labels)) {
    return `namespace ${ns.name} does not match the namespace selector`;
  }
  if (readBool(ns.labels[Ours.namespaceTrack]) === false) return `namespace ${ns.name} opts out (label ${Ours.namespaceTrack}=false)`;
  return undefined;
}

/**
 * Which kinds are tracked wholesale ("auto"), and the reason. Reloader decides this per kind: the
 * kind's typed `/auto` key or `auto` itself when "true"; the cluster-wide default (here also the
 * namespace label) only when neither `auto` nor that kind's typed key is set.
 */
function autoKinds(
  ann: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string>>,
  ns: NamespaceView,
  options: PolicyOptions,
): { kinds: Set<SourceKind>; reason: string } {
  const compat = options.reloaderCompat;
  const ours = readBool(ann[Ours.track]);
  const rk = options.reloaderKeys;
  const reloaderAuto = compat ? readGoBool(ann[rk.keys.auto]) : undefined;
  // Wave acts only on the exact value "true", read from the workload's own metadata.
  const waveAuto = options.waveCompat && own[Wave.updateOnConfigChange] === 'true' ? true : undefined;
  const flag = ours ?? reloaderAuto ?? waveAuto;
  const flagKey = ours !== undefined ? Ours.track : reloaderAuto !== undefined ? rk.keys.auto : Wave.updateOnConfigChange;
  if (flag === true) return { kinds: new Set(SOURCE_KINDS), reason: `annotation ${flagKey}=true` };
  const fallback =
    flag !== undefined
      ? undefined
      : readBool(ns.labels[Ours.namespaceTrack]) === true
        ? `namespace label ${Ours.namespaceTrack}=true`
        : options.trackAll
          ? 'cluster-wide --track-all'
          : undefined;
  const kinds = new Set<SourceKind>();
  const reasons = new Set<string>();
  for (const kind of SOURCE_KINDS) {
    const typed = compat ? readGoBool(ann[rk.kind[kind].auto]) : undefined;
    if (typed === true) {
      kinds.add(kind);
      reasons.add(`annotation ${rk.kind[kind].auto}=true`);
    } else if (typed === undefined && fallback !== undefined) {
      kinds.add(kind);
      reasons.add(fallback);
    }
  }
  return { kinds, reason: [...reasons].join(', ') };
}

class WantSet {
  private readonly wants = new SourceTable<SourceWant>();
  get size(): number {
    return this.wants.size;
  }
  add(want: SourceWant): void {
    const prev = this.wants.get(want.kind, want.name);
    this.wants.set(
      want.kind,
      want.name,
      prev === undefined
        ? want
        : {
            kind: want.kind,
            name: want.name,
            keys: mergeSelections(prev.keys, want.keys),
            optional: prev.optional && want.optional,
            named: prev.named || want.named,
          },
    );
  }
  /** The wants sorted by source id, leaving out the excluded ids. */
  sorted(excluded: ReadonlySet<string> = new Set()): SourceWant[] {
    const all = this.wants.sorted();
    return excluded.size === 0 ? all : all.filter((w) => !excluded.has(sourceId(w.kind, w.name)));
  }
}

/** Step one: whether the workload is tracked, and the sources it wants. */
export function planTracking(view: WorkloadView, refs: readonly SourceRef[], ns: NamespaceView, options: PolicyOptions): TrackingPlan {
  if (options.ignoredWorkloadKinds.has(view.kind.kind)) return { tracked: false, reason: `kind ${view.kind.kind} is ignored` };
  if (view.kind.recreate === true) {
    const refused = recreateVerdict(view, options);
    if (refused !== undefined) return { tracked: false, reason: refused };
  }
  const nsVerdict = namespaceVerdict(ns, options);
  if (nsVerdict !== undefined) return { tracked: false, reason: nsVerdict };

  const compat = options.reloaderCompat;
  const rk = options.reloaderKeys;
  const { ann, own } = selectingAnnotations(view, options);
  const auto = autoKinds(ann, own, ns, options);
  const searchKinds = new Set(compat && readBool(ann[rk.keys.search]) === true ? SOURCE_KINDS.filter((k) => !auto.kinds.has(k)) : []);
  const search = searchKinds.size > 0;
  const excluded = new Set<string>();
  const wants = new WantSet();
  const patterns: NamePattern[] = [];
  const reasons = auto.reason ? [auto.reason] : [];
  if (search) reasons.push(`annotation ${rk.keys.search}=true`);

  for (const kind of SOURCE_KINDS) {
    if (options.ignoredSourceKinds.has(kind)) continue;
    const keys = KIND_KEYS[kind];
    const reloaderKeys = rk.kind[kind];
    // Exclusions are read from the workload's metadata (where Reloader reads them) and from the
    // annotations that select, when those are the pod template's.
    for (const source of new Set([own, ann])) {
      for (const name of [...readList(source[keys.excludeOurs]), ...(compat ? readList(source[reloaderKeys.exclude]) : [])]) {
        excluded.add(sourceId(kind, name));
      }
    }
    for (const name of readList(ann[keys.ours])) {
      if (isSourceName(name)) wants.add({ kind, name, keys: ALL_KEYS, optional: false, named: true });
    }
    const reloaderNames = compat ? readList(ann[reloaderKeys.reload]) : [];
    for (const entry of reloaderNames) {
      // A plain name is matched exactly ("app.config" is not a pattern); anything else is a regex.
      if (isSourceName(entry)) {
        wants.add({ kind, name: entry, keys: ALL_KEYS, optional: false, named: true });
      } else {
        const regex = compileAnchored(entry);
        if (regex) patterns.push({ kind, regex });
      }
    }
    if (readList(ann[keys.ours]).length > 0) reasons.push(`annotation ${keys.ours}`);
    if (reloaderNames.length > 0) reasons.push(`annotation ${reloaderKeys.reload}`);
    const waveNames = options.waveCompat && keys.wave !== undefined ? waveExtras(own[keys.wave], ns.name) : [];
    for (const name of waveNames) wants.add({ kind, name, keys: ALL_KEYS, optional: false, named: true });
    if (waveNames.length > 0) reasons.push(`annotation ${keys.wave}`);
  }
  for (const ref of refs) {
    if (options.ignoredSourceKinds.has(ref.kind)) continue;
    if (auto.kinds.has(ref.kind) || searchKinds.has(ref.kind)) {
      // Written out rather than spread: spreading an object is slow and this runs per source.
      wants.add({ kind: ref.kind, name: ref.name, keys: ref.keys, optional: ref.optional, named: false });
    }
  }
  const tracked = auto.kinds.size > 0 || search || wants.size > 0 || patterns.length > 0;
  if (!tracked) return { tracked: false, reason: 'no tracking annotation, namespace label or --track-all' };
  return { tracked: true, reason: reasons.join(', '), wants: wants.sorted(excluded), patterns, search, searchKinds, excluded };
}

/**
 * Wave's extra lists hold `name` or `namespace/name`. A pod cannot consume a source of another
 * namespace and the stamp names sources within the workload's namespace, so entries for other
 * namespaces are left out (docs/annotations.md says so).
 */
function waveExtras(value: string | undefined, namespace: string): string[] {
  const names: string[] = [];
  for (const entry of readList(value)) {
    const parts = entry.split('/');
    const name = parts.length === 1 ? parts[0] : parts.length === 2 && parts[0] === namespace ? parts[1] : undefined;
    if (name !== undefined && isSourceName(name)) names.push(name);
  }
  return names;
}

/**
 * Reload-list patterns compiled so far, by entry (undefined: not a valid pattern). V8 shares the
 * compiled code of equal patterns, but a new RegExp per entry per decision still cost about
 * 0.5 µs each. The same few entries recur on every decision, so a small bound suffices; past it
 * the oldest entry goes. A RegExp without the g or y flag keeps no state between tests.
 */
const compiledPatterns = new Map<string, RegExp | undefined>();
const MAX_COMPILED_PATTERNS = 512;

function compileAnchored(entry: string): RegExp | undefined {
  if (compiledPatterns.has(entry)) return compiledPatterns.get(entry);
  let regex: RegExp | undefined;
  try {
    regex = new RegExp(`^(?:${entry})$`);
  } catch {
    regex = undefined;
  }
  if (compiledPatterns.size >= MAX_COMPILED_PATTERNS) compiledPatterns.delete(compiledPatterns.keys().next().value!);
  compiledPatterns.set(entry, regex);
  return regex;
}

/** What the caller knows of a source: its metadata, or undefined when it does not exist. */
export interface SourceMeta {
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly type?: string | undefined;
}

export interface SourceCatalog {
  get(kind: SourceKind, name: string): SourceMeta | undefined;
  /** Every source name of that kind in the workload's namespace; read only when patterns exist. */
  names(kind: SourceKind): Iterable<string>;
}

export interface TrackedSource {
  readonly kind: SourceKind;
  readonly name: string;
  readonly keys: KeySelection;
  readonly optional: boolean;
}

/**
 * Whether the source itself allows being tracked (ignore, selector, Helm release data). The
 * source selector does not apply to a pod-status kind (`reported`): its state comes from status
 * objects the CSI driver labels, never its users.
 */
export function sourceAllowed(meta: SourceMeta, options: PolicyOptions, reported = false): boolean {
  if (meta.type === HELM_RELEASE_TYPE) return false;
  if (readBool(meta.annotations[Ours.ignore]) === true) return false;
  if (options.reloaderCompat && readBool(meta.annotations[options.reloaderKeys.keys.ignore]) === true) return false;
  return reported || options.sourceSelector === null || matchesLabels(options.sourceSelector, meta.labels);
}

/** Search mode asks referenced sources of a kind not tracked wholesale to carry `match`. */
function needsMatch(plan: TrackingPlan & { tracked: true }, want: SourceWant): boolean {
  return !want.named && plan.searchKinds.has(want.kind);
}

/** Step two: the tracked sources, once their metadata (or absence) is known. */
export function selectTrackedSources(plan: TrackingPlan, catalog: SourceCatalog, options: PolicyOptions): TrackedSource[] {
  if (!plan.tracked) return [];
  const chosen = new WantSet();
  for (const want of plan.wants) {
    const meta = catalog.get(want.kind, want.name);
    const reported = isPodStatusKind(want.kind);
    if (meta === undefined) {
      // A pod-status source no pod has reported is unknown, not absent: left out until reported,
      // it is then adopted, so a new workload's first pods roll nothing.
      if (reported) continue;
      // An absent source cannot show `match` or labels; otherwise it is tracked, so that its
      // creation rolls the workload that waited for it.
      if (needsMatch(plan, want) || options.sourceSelector !== null) continue;
    } else {
      if (!sourceAllowed(meta, options, reported)) continue;
      if (needsMatch(plan, want) && readBool(meta.annotations[options.reloaderKeys.keys.match]) !== true) continue;
    }
    chosen.add(want);
  }
  for (const pattern of plan.patterns) {
    for (const name of catalog.names(pattern.kind)) {
      if (!pattern.regex.test(name) || plan.excluded.has(sourceId(pattern.kind, name))) continue;
      const meta = catalog.get(pattern.kind, name);
      if (meta === undefined || !sourceAllowed(meta, options, isPodStatusKind(pattern.kind))) continue;
      chosen.add({ kind: pattern.kind, name, keys: ALL_KEYS, optional: false, named: true });
    }
  }
  return chosen.sorted().map(({ kind, name, keys, optional }) => ({ kind, name, keys, optional }));
}
