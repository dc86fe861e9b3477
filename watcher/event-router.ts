/**
 * Wires list + watch to the cache, the reverse index and the queue. Events only enqueue workload
 * keys: a source event enqueues the workloads the index names for it; a workload event enqueues
 * that workload; a namespace label change re-plans and enqueues the namespace's workloads. Only
 * the leader enqueues (standbys keep cache and index warm and write nothing). Becoming leader, and
 * every relist, enqueue every workload: restart sync is how the watcher always starts.
 */
import { PodStatusFold, stateObject } from '../shared/core/csi.js';
import type { FoldChange, PodStatusIdentity, PodStatusReport } from '../shared/core/csi.js';
import { SOURCE_KIND_TABLE } from '../shared/core/kinds.js';
import type { SourceKind, WorkloadKind } from '../shared/core/kinds.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import type { Logger } from '../shared/log.js';
import { ClusterCache, metaOf, sourceEntryOf, workloadKey } from './cache.js';
import type { WorkloadEntry } from './cache.js';
import { templateRefOf } from '../shared/core/workload.js';
import { timingAnnotations } from '../shared/core/timing.js';
import { asNumber, getPath } from '../shared/core/json.js';
import { rolloutProgress } from '../shared/core/progress.js';
import type { RolloutBudget } from './rollout-budget.js';
import { namespacedName } from './keys.js';
import type { ChurnGuard } from './churn-guard.js';
import type { DigestCache } from './digest-cache.js';
import { wantedSources } from '../shared/core/evaluate.js';
import type { InformerHandlers } from '../shared/kube/informer.js';
import type { WorkQueue } from './queue.js';
import { ReverseIndex } from './reverse-index.js';

export interface EventRouterDeps {
  readonly queue: WorkQueue;
  readonly digests: DigestCache;
  readonly guard: ChurnGuard;
  readonly policy: PolicyOptions;
  readonly log: Logger;
  /** Called when a watch ended badly and its resource is relisted. */
  readonly onRestart?: (resource: string, reason: 'gone' | 'error') => void;
  /** Called with every workload key when a restart sync enqueues them all. */
  readonly onSyncAll?: (keys: readonly string[]) => void;
  /** Called when a workload leaves the cache (deleted, or gone at a relist). */
  readonly onRemoved?: (key: string) => void;
  /** The rollout budget (--rollout-budget), told what tracked workloads' statuses show. */
  readonly budget?: RolloutBudget;
  /** Called when a tracked workload's object changed after the sync (its status too): the waves wake who waits on it. */
  readonly onWorkloadChanged?: (key: string) => void;
}

export class EventRouter {
  readonly cache = new ClusterCache();
  readonly index = new ReverseIndex();
  /** A workload → the workloads running its template (Argo Rollouts' workloadRef), and back. */
  private readonly referrers = new Map<string, Set<string>>();
  private readonly referenceOf = new Map<string, string>();
  /** Per pod-status source kind (a SecretProviderClass): the fold of its status objects. */
  private readonly folds = new Map<SourceKind, PodStatusFold>();
  private active = false;
  private synced = false;
  /** Problems with workloads' own settings already warned about (once each, bounded). */
  private readonly warned = new Set<string>();

  constructor(private readonly deps: EventRouterDeps) {}

  /** This replica leads: from now on changes are enqueued; everything is enqueued once now. */
  activate(): void {
    this.active = true;
    if (this.synced) this.enqueueAll();
  }

  /** Every informer has listed once: plan every workload with all namespaces known, then sync. */
  markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const key of this.cache.workloadKeys()) this.reindex(key);
    if (this.active) this.enqueueAll();
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** A restart sync: every workload once (boot, leadership, relist). */
  private enqueueAll(): void {
    if (!this.active) return;
    const keys = this.cache.workloadKeys();
    this.deps.onSyncAll?.(keys);
    for (const key of keys) this.deps.queue.add(key, 0);
  }

  /**
   * Only once every informer has listed: a workload reconciled before the sources are known
   * would find them "absent", be adopted as waiting for them, and roll when they appear.
   * markSynced enqueues everything anyway.
   */
  private enqueue(key: string): void {
    if (this.active && this.synced) this.deps.queue.add(key, this.debounceOf(key));
  }

  /** The workload's own debounce window (configstamp.io/debounce), or undefined for --debounce. */
  private debounceOf(key: string): number | undefined {
    const w = this.cache.workload(key);
    if (w === undefined) return undefined;
    const timing = this.cache.timingOf(w);
    for (const problem of timing.problems) this.warnOnce(key, problem);
    return timing.debounceMs;
  }

  /** A problem with a workload's own settings, logged once (bounded). */
  private warnOnce(key: string, problem: string): void {
    const said = `${key} ${problem}`;
    if (this.warned.has(said)) return;
    if (this.warned.size >= 1024) this.warned.clear();
    this.warned.add(said);
    this.deps.log.warn({ workload: key }, problem);
  }

  /** Records which workload's template `key` runs (or none), so a change to that one re-plans it. */
  private trackReference(key: string, w: WorkloadEntry | undefined): void {
    const before = this.referenceOf.get(key);
    const ref = w === undefined ? undefined : templateRefOf(w.kind, w.object, this.deps.policy.workloadKinds);
    if (w !== undefined && ref === undefined && w.kind.templateRefPath !== undefined && getPath(w.object, w.kind.templateRefPath) !== undefined) {
      this.warnOnce(key, `its ${w.kind.templateRefPath.join('.')} names no workload kind configstamp watches here: it tracks nothing`);
    }
    const after = ref === undefined ? undefined : workloadKey(ref.kind, w!.namespace, ref.name);
    if (before === after) return;
    if (before !== undefined) {
      this.referrers.get(before)?.delete(key);
      if (this.referrers.get(before)?.size === 0) this.referrers.delete(before);
      this.referenceOf.delete(key);
    }
    if (after !== undefined) {
      this.referenceOf.set(key, after);
      let set = this.referrers.get(after);
      if (set === undefined) this.referrers.set(after, (set = new Set()));
      set.add(key);
    }
  }

  /** A workload whose template others run changed (or went): re-plan and re-evaluate them. */
  private referencedChanged(key: string): void {
    for (const referrer of this.referrers.get(key) ?? []) {
      if (this.synced) this.reindex(referrer);
      this.enqueue(referrer);
    }
  }

  /** The budget learns what a tracked workload's status shows (an untracked one holds no slot). */
  private observeProgress(key: string, tracked: boolean): void {
    if (tracked) this.deps.onWorkloadChanged?.(key);
    const budget = this.deps.budget;
    if (budget === undefined || !budget.enabled) return;
    const w = this.cache.workload(key);
    if (w === undefined || !tracked) return void budget.forget(key);
    budget.observe(key, asNumber(getPath(w.object, ['metadata', 'generation'])), rolloutProgress(w.kind, w.object));
  }

  /** Re-plans a workload's sources, and tells the budget what its status shows. */
  private reindex(key: string): void {
    this.observeProgress(key, this.plan(key));
  }

  /** Re-plans a workload's sources; returns whether it is tracked. */
  private plan(key: string): boolean {
    const w = this.cache.workload(key);
    this.trackReference(key, w);
    if (w === undefined) {
      this.index.remove(key);
      return false;
    }
    const object = this.cache.evaluated(w.kind, w.namespace, w.object, this.deps.policy.workloadKinds);
    const plan = wantedSources({ kind: w.kind, object, namespace: this.cache.namespaceView(w.namespace), policy: this.deps.policy });
    if (!plan.tracked) {
      this.index.remove(key);
      return false;
    }
    this.index.set(
      key,
      w.namespace,
      plan.wants,
      plan.patterns.map((p) => p.kind),
    );
    return true;
  }

  private relisted(resource: string, initial: boolean): void {
    if (initial) return;
    this.deps.log.info({ resource }, 'relisted: reconciling every workload again');
    if (this.synced) {
      for (const key of this.cache.workloadKeys()) this.reindex(key);
      this.enqueueAll();
    }
  }

  private restartHandler(resource: string): InformerHandlers['restarted'] {
    return (reason) => this.deps.onRestart?.(resource, reason);
  }

  namespaceHandlers(): InformerHandlers {
    const apply = (object: unknown, deleted: boolean): void => {
      const m = metaOf(object);
      if (!m.name) return;
      const seen = (): string => JSON.stringify([this.cache.namespaceView(m.name!).labels, this.cache.namespaceTiming(m.name!)]);
      const before = seen();
      if (deleted) this.cache.deleteNamespace(m.name);
      else this.cache.setNamespace(m.name, m.labels ?? {}, timingAnnotations(m.annotations));
      // Labels re-plan its workloads; timing annotations re-time what waits (a shorter interval applies now).
      if (this.synced && seen() !== before) {
        for (const key of this.cache.workloadKeysIn(m.name)) {
          this.reindex(key);
          this.enqueue(key);
        }
      }
    };
    return {
      replace: (items, initial) => {
        for (const name of this.cache.namespaceNames()) this.cache.deleteNamespace(name);
        for (const item of items) apply(item, false);
        this.relisted('namespaces', initial);
      },
      event: (type, object) => apply(object, type === 'DELETED'),
      restarted: this.restartHandler('namespaces'),
    };
  }

  private sourceChanged(kind: SourceKind, namespace: string, name: string): void {
    this.deps.digests.forget(kind, namespace, name);
    for (const key of this.index.lookup(namespace, kind, name)) this.enqueue(key);
  }

  /** Handlers for one source kind's informer: across namespaces, or in `namespace` alone (a scoped install). */
  sourceHandlers(kind: SourceKind, namespace?: string): InformerHandlers {
    return {
      replace: (items, initial) => {
        const listed = [...this.cache.allSources(kind)].filter(([ns]) => namespace === undefined || ns === namespace);
        const stale = new Map(listed.map(([ns, name, e]) => [namespacedName(ns, name), { ns, name, rv: e.resourceVersion }]));
        for (const item of items) {
          const e = sourceEntryOf(item);
          const prev = this.cache.setSource(kind, e.namespace, e.name, e);
          stale.delete(namespacedName(e.namespace, e.name));
          if (!initial && prev?.resourceVersion !== e.resourceVersion) this.deps.digests.forget(kind, e.namespace, e.name);
        }
        for (const { ns, name } of stale.values()) {
          this.cache.deleteSource(kind, ns, name);
          this.deps.digests.forget(kind, ns, name);
        }
        this.relisted(SOURCE_KIND_TABLE[kind].plural, initial);
      },
      event: (type, object) => {
        const e = sourceEntryOf(object);
        if (!e.name) return;
        if (type === 'DELETED') this.cache.deleteSource(kind, e.namespace, e.name);
        else this.cache.setSource(kind, e.namespace, e.name, e);
        this.sourceChanged(kind, e.namespace, e.name);
      },
      restarted: this.restartHandler(SOURCE_KIND_TABLE[kind].plural),
    };
  }

  private fold(kind: SourceKind): PodStatusFold {
    let fold = this.folds.get(kind);
    if (fold === undefined) this.folds.set(kind, (fold = new PodStatusFold()));
    return fold;
  }

  /**
   * The folded state of a pod-status source as the digest reads it (its version set as `data`),
   * or null while no pod reports it: the watcher's answer for such a source, fresh reads included,
   * since its state is the fold of what the status objects said (shared/core/csi.ts).
   */
  podStatusObject(kind: SourceKind, namespace: string, name: string): unknown | null {
    const state = this.folds.get(kind)?.state(namespace, name);
    return state === undefined ? null : stateObject(state.versions, state.revision);
  }

  /** Mirrors folded states into the cache (as sources with the fold's revision) and, after the first list, re-evaluates their consumers. */
  private foldChanged(kind: SourceKind, changes: readonly FoldChange[], notify: boolean): void {
    const fold = this.fold(kind);
    for (const { namespace, source } of changes) {
      const state = fold.state(namespace, source);
      if (state === undefined) this.cache.deleteSource(kind, namespace, source);
      else this.cache.setSource(kind, namespace, source, { resourceVersion: state.revision, labels: {}, annotations: {} });
      if (notify) this.sourceChanged(kind, namespace, source);
      else this.deps.digests.forget(kind, namespace, source);
    }
  }

  /**
   * Handlers for the informer of a pod-status source kind's status objects (the transform is
   * readPodStatus): across namespaces, or in `namespace` alone.
   */
  podStatusHandlers(kind: SourceKind, namespace?: string): InformerHandlers {
    const plural = SOURCE_KIND_TABLE[kind].podStatus!.plural;
    const reads = (items: readonly unknown[]): (PodStatusReport | PodStatusIdentity)[] =>
      items.filter((i): i is PodStatusReport | PodStatusIdentity => i !== undefined);
    return {
      replace: (items, initial) => {
        this.foldChanged(kind, this.fold(kind).replace(reads(items), namespace), !initial);
        this.relisted(plural, initial);
      },
      event: (type, read) => {
        if (read === undefined) return;
        const r = read as PodStatusReport | PodStatusIdentity;
        this.foldChanged(kind, type === 'DELETED' ? this.fold(kind).remove(r) : this.fold(kind).upsert(r), true);
      },
      restarted: this.restartHandler(plural),
    };
  }

  /** Handlers for one workload kind's informer: across namespaces, or in `namespace` alone. */
  workloadHandlers(kind: WorkloadKind, namespace?: string): InformerHandlers {
    const set = (object: unknown): string | undefined => {
      const m = metaOf(object);
      if (!m.name || !m.namespace) return undefined;
      const key = workloadKey(kind, m.namespace, m.name);
      this.cache.setWorkload({ key, kind, namespace: m.namespace, name: m.name, object });
      if (this.synced) {
        this.reindex(key);
        this.referencedChanged(key);
      }
      return key;
    };
    return {
      replace: (items, initial) => {
        const stale = new Set(
          this.cache
            .workloadsOfKind(kind)
            .filter((w) => namespace === undefined || w.namespace === namespace)
            .map((w) => w.key),
        );
        for (const item of items) {
          const key = set(item);
          if (key !== undefined) stale.delete(key);
        }
        for (const key of stale) this.removeWorkload(key);
        this.relisted(kind.plural, initial);
      },
      event: (type, object) => {
        if (type === 'DELETED') {
          const m = metaOf(object);
          if (m.name && m.namespace) this.removeWorkload(workloadKey(kind, m.namespace, m.name));
          return;
        }
        const key = set(object);
        if (key !== undefined) this.enqueue(key);
      },
      restarted: this.restartHandler(kind.plural),
    };
  }

  private removeWorkload(key: string): void {
    this.deps.onRemoved?.(key);
    const removed = this.cache.deleteWorkload(key);
    this.index.remove(key);
    this.trackReference(key, undefined);
    // A kind rolled by re-creation is deleted by its own rollout: its churn guard must outlive that.
    if (removed?.kind.recreate !== true) this.deps.guard.forget(key);
    this.deps.budget?.forget(key);
    if (this.synced) this.referencedChanged(key);
  }
}
