/**
 * What the watcher knows of the cluster between reads: namespaces (labels), sources (metadata
 * only: names, labels, annotations, resourceVersion; never data) and workloads (pruned to what
 * the core reads: references and annotations). Filled by list + watch; read by reconciles for
 * planning, never trusted for a rollout (that is confirmed with fresh reads).
 */
import type { SourceKind, WorkloadKind } from '../shared/core/kinds.js';
import type { NamespaceView, SourceCatalog, SourceMeta } from '../shared/core/policy.js';
import { LAST_APPLIED, pruneWorkload } from '../shared/core/prune.js';
import { readObjectMeta, readSourceMeta } from '../shared/core/meta.js';
import { templateRefOf, withReferencedTemplate } from '../shared/core/workload.js';
import { timingOverrides } from '../shared/core/timing.js';
import type { TimingOverrides } from '../shared/core/timing.js';
import { restartWindowVerdict } from '../shared/core/window.js';
import type { WindowVerdict } from '../shared/core/window.js';

const NO_TIMING: Readonly<Record<string, string>> = Object.freeze({});
import { kindInNamespaceKey, splitKindInNamespaceKey } from './keys.js';

export interface SourceEntry extends SourceMeta {
  readonly resourceVersion: string;
}

export interface WorkloadEntry {
  readonly key: string;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly object: unknown;
}

export { workloadKey } from './keys.js';
import { workloadKey } from './keys.js';

/** An object's metadata, read defensively (shared/core/meta.ts): the watcher's one reader. */
export const metaOf = readObjectMeta;

/**
 * A listed or watched source cut to what the watcher keeps: name, namespace, resourceVersion,
 * labels, annotations (without kubectl's last-applied copy, which repeats the data) and type.
 * The informers apply it as each page arrives, so managedFields and data are never held.
 */
export function compactSource(object: unknown): unknown {
  const m = readObjectMeta(object);
  const annotations: Record<string, string> = { ...m.annotations };
  delete annotations[LAST_APPLIED];
  const type = readSourceMeta(object).type;
  return {
    metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion, labels: m.labels, annotations },
    ...(type !== undefined ? { type } : {}),
  };
}

/** A source's metadata as kept: data and managedFields are never stored. */
export function sourceEntryOf(object: unknown): SourceEntry & { name: string; namespace: string } {
  const m = readObjectMeta(object);
  return {
    name: m.name ?? '',
    namespace: m.namespace ?? '',
    resourceVersion: m.resourceVersion ?? '',
    labels: m.labels,
    annotations: m.annotations,
    type: readSourceMeta(object).type,
  };
}

export class ClusterCache {
  private readonly namespaces = new Map<string, Readonly<Record<string, string>>>();
  /** Per namespace, our timing and restart-window annotations (shared/core/timing.ts): all that is kept of its annotations. */
  private readonly namespaceTimings = new Map<string, Readonly<Record<string, string>>>();
  private readonly sources = new Map<string, Map<string, SourceEntry>>();
  private readonly workloads = new Map<string, WorkloadEntry>();
  private readonly workloadsByNamespace = new Map<string, Set<string>>();

  setNamespace(name: string, labels: Readonly<Record<string, string>>, timing: Readonly<Record<string, string>> = {}): void {
    this.namespaces.set(name, labels);
    if (Object.keys(timing).length > 0) this.namespaceTimings.set(name, timing);
    else this.namespaceTimings.delete(name);
  }
  deleteNamespace(name: string): void {
    this.namespaces.delete(name);
    this.namespaceTimings.delete(name);
  }
  /** A namespace's timing annotations (none in a scoped install, which reads no Namespace). */
  namespaceTiming(name: string): Readonly<Record<string, string>> {
    return this.namespaceTimings.get(name) ?? NO_TIMING;
  }
  /** The restart window a cached workload is under at `nowMs` (its annotations, else its namespace's). */
  windowOf(entry: WorkloadEntry, nowMs: number, reloaderKeys: boolean): WindowVerdict {
    return restartWindowVerdict(entry.object, this.namespaceTiming(entry.namespace), nowMs, reloaderKeys);
  }
  /** The timing a cached workload asks for (its annotations, else its namespace's). */
  timingOf(entry: WorkloadEntry): TimingOverrides {
    return timingOverrides(entry.object, this.namespaceTiming(entry.namespace));
  }
  namespaceView(name: string): NamespaceView {
    return { name, labels: this.namespaces.get(name) ?? {} };
  }
  namespaceNames(): string[] {
    return [...this.namespaces.keys()];
  }

  private bucket(namespace: string, kind: SourceKind): Map<string, SourceEntry> {
    const key = kindInNamespaceKey(namespace, kind);
    let b = this.sources.get(key);
    if (b === undefined) this.sources.set(key, (b = new Map()));
    return b;
  }
  /** Stores a source's metadata; returns the previous entry. */
  setSource(kind: SourceKind, namespace: string, name: string, entry: SourceEntry): SourceEntry | undefined {
    const b = this.bucket(namespace, kind);
    const prev = b.get(name);
    b.set(name, entry);
    return prev;
  }
  deleteSource(kind: SourceKind, namespace: string, name: string): SourceEntry | undefined {
    const b = this.bucket(namespace, kind);
    const prev = b.get(name);
    b.delete(name);
    return prev;
  }
  source(kind: SourceKind, namespace: string, name: string): SourceEntry | undefined {
    return this.sources.get(kindInNamespaceKey(namespace, kind))?.get(name);
  }
  /** Every source of a kind, as [namespace, name, entry]. */
  *allSources(kind: SourceKind): Iterable<[string, string, SourceEntry]> {
    for (const [key, b] of this.sources) {
      const parts = splitKindInNamespaceKey(key);
      if (parts.kind !== kind) continue;
      for (const [name, entry] of b) yield [parts.namespace, name, entry];
    }
  }
  catalog(namespace: string): SourceCatalog {
    return {
      get: (kind, name) => this.source(kind, namespace, name),
      names: (kind) => this.sources.get(kindInNamespaceKey(namespace, kind))?.keys() ?? [],
    };
  }

  /** Stores a workload pruned to what the core reads of it (shared/core/prune.ts). */
  setWorkload(entry: WorkloadEntry): void {
    this.workloads.set(entry.key, { ...entry, object: pruneWorkload(entry.kind, entry.object) });
    let set = this.workloadsByNamespace.get(entry.namespace);
    if (set === undefined) this.workloadsByNamespace.set(entry.namespace, (set = new Set()));
    set.add(entry.key);
  }
  deleteWorkload(key: string): WorkloadEntry | undefined {
    const prev = this.workloads.get(key);
    if (prev === undefined) return undefined;
    this.workloads.delete(key);
    this.workloadsByNamespace.get(prev.namespace)?.delete(key);
    return prev;
  }
  workload(key: string): WorkloadEntry | undefined {
    return this.workloads.get(key);
  }
  /**
   * `object` (a workload of `kind` in `namespace`) as the evaluation reads it: with the template
   * of the workload it runs instead of its own (an Argo Rollout's workloadRef), from this cache.
   */
  evaluated(kind: WorkloadKind, namespace: string, object: unknown, kinds?: readonly WorkloadKind[]): unknown {
    const ref = templateRefOf(kind, object, kinds);
    if (ref === undefined) return object;
    return withReferencedTemplate(kind, object, ref, this.workloads.get(workloadKey(ref.kind, namespace, ref.name))?.object);
  }
  workloadKeys(): string[] {
    return [...this.workloads.keys()];
  }
  workloadKeysIn(namespace: string): string[] {
    return [...(this.workloadsByNamespace.get(namespace) ?? [])];
  }
  workloadsOfKind(kind: WorkloadKind): WorkloadEntry[] {
    return [...this.workloads.values()].filter((w) => w.kind === kind);
  }
}
