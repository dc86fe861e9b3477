/**
 * The core's evaluation and decision for a workload the watcher has cached: its namespace as the
 * cache knows it, its template as it runs (an Argo Rollout's workloadRef read through the
 * referenced workload), and the digests by the cached sources' resourceVersions. One place for
 * the reconcile's plan, the waves' view of each consumer, and `configstamp plan`.
 */
import { decideWorkload } from '../shared/core/evaluate.js';
import type { WorkloadDecision } from '../shared/core/evaluate.js';
import type { DriftOptions } from '../shared/core/decide.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import type { ClusterCache, WorkloadEntry } from './cache.js';
import type { DigestCache, ReadNow, VersionLookup } from './digest-cache.js';

/**
 * Decides `entry` (or `fresh.object`, a fresh read of it) from the cache. With `fresh`, the
 * digests are read again rather than looked up by the cached resourceVersions (the reconcile's
 * confirmation), except for sources in `readNow`: those this reconcile has just read, which it
 * also records there.
 */
export function decideCached(
  cache: ClusterCache,
  digests: DigestCache,
  policy: PolicyOptions,
  entry: WorkloadEntry,
  options: DriftOptions,
  fresh?: { readonly object: unknown },
  readNow?: ReadNow,
): Promise<WorkloadDecision> {
  const ns = entry.namespace;
  const versions: VersionLookup | undefined = fresh === undefined ? (kind, n, name) => cache.source(kind, n, name)?.resourceVersion : undefined;
  return decideWorkload(
    {
      kind: entry.kind,
      object: cache.evaluated(entry.kind, ns, fresh?.object ?? entry.object, policy.workloadKinds),
      namespace: cache.namespaceView(ns),
      policy,
    },
    digests.port(ns, cache.catalog(ns), versions, readNow),
    options,
  );
}
