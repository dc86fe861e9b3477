/**
 * The watcher's map keys, each format built here and nowhere else (the core's source id,
 * `Kind/name`, is shared/core/references.ts's sourceId).
 */
import type { SourceKind, WorkloadKind } from '../shared/core/kinds.js';

/** A workload: `Kind/namespace/name`, the queue's and the cache's key. */
export function workloadKey(kind: WorkloadKind, namespace: string, name: string): string {
  return `${kind.kind}/${namespace}/${name}`;
}

/** A source across namespaces: `namespace/Kind/name` (digests, reverse index). */
export function namespacedSourceKey(namespace: string, kind: SourceKind, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

/** All sources of a kind in a namespace: `namespace/Kind` (cache buckets, pattern index). */
export function kindInNamespaceKey(namespace: string, kind: SourceKind): string {
  return `${namespace}/${kind}`;
}

/** The parts of a kindInNamespaceKey (a namespace holds no `/`). */
export function splitKindInNamespaceKey(key: string): { namespace: string; kind: string } {
  const slash = key.lastIndexOf('/');
  return { namespace: key.slice(0, slash), kind: key.slice(slash + 1) };
}

/** A namespaced name: `namespace/name`. */
export function namespacedName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
