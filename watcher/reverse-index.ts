/**
 * Source → workloads. Each workload registers the sources it wants (referenced or named, present
 * or not yet created) and, when it tracks name patterns, the whole namespace for that kind. A
 * source event then costs O(workloads affected), never a list.
 */
import type { SourceKind } from '../shared/core/kinds.js';
import { kindInNamespaceKey, namespacedSourceKey } from './keys.js';

export interface WantedSource {
  readonly kind: SourceKind;
  readonly name: string;
}

const sourceKey = namespacedSourceKey;
const patternKey = kindInNamespaceKey;

export class ReverseIndex {
  private readonly bySource = new Map<string, Set<string>>();
  private readonly byPattern = new Map<string, Set<string>>();
  private readonly byWorkload = new Map<string, { sources: string[]; patterns: string[] }>();

  /** Replaces what `workload` (in `namespace`) wants. */
  set(workload: string, namespace: string, sources: readonly WantedSource[], patternKinds: Iterable<SourceKind>): void {
    this.remove(workload);
    const entry = {
      sources: sources.map((s) => sourceKey(namespace, s.kind, s.name)),
      patterns: [...new Set(patternKinds)].map((k) => patternKey(namespace, k)),
    };
    for (const key of entry.sources) add(this.bySource, key, workload);
    for (const key of entry.patterns) add(this.byPattern, key, workload);
    this.byWorkload.set(workload, entry);
  }

  remove(workload: string): void {
    const entry = this.byWorkload.get(workload);
    if (entry === undefined) return;
    for (const key of entry.sources) del(this.bySource, key, workload);
    for (const key of entry.patterns) del(this.byPattern, key, workload);
    this.byWorkload.delete(workload);
  }

  /** Whether a change of this source may concern `workload` (lookup without building the set). */
  concerns(namespace: string, kind: SourceKind, name: string, workload: string): boolean {
    return (
      this.bySource.get(sourceKey(namespace, kind, name))?.has(workload) === true || this.byPattern.get(patternKey(namespace, kind))?.has(workload) === true
    );
  }

  /** The workloads a change of this source may concern. */
  lookup(namespace: string, kind: SourceKind, name: string): Set<string> {
    const out = new Set(this.bySource.get(sourceKey(namespace, kind, name)));
    for (const w of this.byPattern.get(patternKey(namespace, kind)) ?? []) out.add(w);
    return out;
  }

  get size(): number {
    return this.byWorkload.size;
  }
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}

function del(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
