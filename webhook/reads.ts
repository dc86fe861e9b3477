/**
 * The webhook's port into the core's evaluation (shared/core/evaluate.ts): what a tracked
 * workload's stamp needs, fresh from the API server: the sources it wants (parallel, bounded
 * GETs) and, for Reloader's regular-expression name lists, the metadata of every source of that
 * kind in the namespace; then the sources those patterns matched, and their digests. All of it
 * under one deadline. A SecretProviderClass (CSI) is read as the status objects its pods report
 * (one list per admission that wants one). Secret objects live only until their digests are taken.
 */
import { foldListed, stateObject } from '../shared/core/csi.js';
import type { PodStatusReport } from '../shared/core/csi.js';
import { readObjectMeta, readSourceMeta } from '../shared/core/meta.js';
import { SOURCE_KIND_TABLE, isPodStatusKind } from '../shared/core/kinds.js';
import type { SourceKind } from '../shared/core/kinds.js';
import { digestsFromData } from '../shared/core/evaluate.js';
import type { EvaluationPort, WantedPlan } from '../shared/core/evaluate.js';
import type { SourceCatalog, SourceMeta } from '../shared/core/policy.js';
import { sourceId } from '../shared/core/references.js';
import { ConfigstampError, ErrorCodes, errorMessage } from '../shared/errors.js';
import type { KubeApi } from '../shared/kube/client.js';
import { fetchSources, listPodStatusReports, listSourceMetadata } from '../shared/kube/sources.js';
import type { FetchOptions, NamedSourceMeta } from '../shared/kube/sources.js';

/**
 * The webhook's port into the core's evaluation for one admission in `namespace`: everything is
 * read fresh, under one deadline for the whole admission. Throws ConfigstampError (SOURCE_READ,
 * DEADLINE, API; HASH_KEY when digests are asked for before the key is loaded).
 */
export type SourceReader = (namespace: string, hashKey: () => Uint8Array | undefined) => EvaluationPort;

async function listPatternKinds(client: KubeApi, namespace: string, plan: WantedPlan, deadlineMs: number): Promise<Map<SourceKind, NamedSourceMeta[]>> {
  const kinds = [...new Set(plan.patterns.map((p) => p.kind))].filter((k) => !isPodStatusKind(k));
  const signal = AbortSignal.timeout(deadlineMs);
  const lists = await Promise.all(
    kinds.map(async (kind) => {
      try {
        return await listSourceMetadata(client, kind, namespace, signal);
      } catch (err) {
        if (signal.aborted) throw new ConfigstampError(ErrorCodes.DEADLINE, `listing ${kind}s in ${namespace}: no answer within ${deadlineMs} ms`);
        throw new ConfigstampError(ErrorCodes.SOURCE_READ, `listing ${kind}s in ${namespace}: ${errorMessage(err)}`, { cause: err });
      }
    }),
  );
  return new Map(kinds.map((kind, i) => [kind, lists[i]!]));
}

/** A pod-status source carries no metadata of its own that the policy reads. */
const REPORTED_META: SourceMeta = Object.freeze({ annotations: Object.freeze({}), labels: Object.freeze({}) });

/** The status objects of each pod-status kind the plan wants (by name or pattern), folded per source. */
async function readPodStatusKinds(
  client: KubeApi,
  namespace: string,
  plan: WantedPlan,
  deadlineMs: number,
): Promise<Map<SourceKind, Map<string, PodStatusReport>>> {
  const kinds = [...new Set([...plan.wants.map((w) => w.kind), ...plan.patterns.map((p) => p.kind)])].filter(isPodStatusKind);
  const signal = AbortSignal.timeout(deadlineMs);
  const folded = await Promise.all(
    kinds.map(async (kind) => {
      try {
        return foldListed(await listPodStatusReports(client, kind, namespace, signal));
      } catch (err) {
        const plural = SOURCE_KIND_TABLE[kind].podStatus!.plural;
        if (signal.aborted) throw new ConfigstampError(ErrorCodes.DEADLINE, `listing ${plural} in ${namespace}: no answer within ${deadlineMs} ms`);
        throw new ConfigstampError(ErrorCodes.SOURCE_READ, `listing ${plural} in ${namespace}: ${errorMessage(err)}`, { cause: err });
      }
    }),
  );
  return new Map(kinds.map((kind, i) => [kind, folded[i]!]));
}

/** A SourceReader over the real API, timing each admission's reads with `observe` (seconds). */
export function kubeSourceReader(client: KubeApi, options: FetchOptions, observe: (seconds: number) => void = () => undefined): SourceReader {
  return (namespace, hashKey) => {
    const started = performance.now();
    const objects = new Map<string, unknown | null>();
    // One observation per admission: when its last step ends, or when a step fails.
    const timed = async <T>(step: () => Promise<T>, last: boolean): Promise<T> => {
      let result: T;
      try {
        result = await step();
      } catch (err) {
        observe((performance.now() - started) / 1000);
        throw err;
      }
      if (last) observe((performance.now() - started) / 1000);
      return result;
    };
    return {
      // The wanted sources (GETs) and, for name patterns, the metadata of their kinds (LISTs).
      catalog: (plan) =>
        timed(async () => {
          // Nothing is read for a stamp that could not be keyed.
          if (hashKey() === undefined) throw new ConfigstampError(ErrorCodes.HASH_KEY, 'the per-cluster hash key is not loaded yet');
          const [fetched, listed, reported] = await Promise.all([
            fetchSources(
              client,
              namespace,
              plan.wants.filter((w) => !isPodStatusKind(w.kind)),
              options,
            ),
            listPatternKinds(client, namespace, plan, options.deadlineMs),
            readPodStatusKinds(client, namespace, plan, options.deadlineMs),
          ]);
          for (const [id, object] of fetched) objects.set(id, object);
          // A pod-status source (CSI) is what its pods' status objects report, folded (csi.ts);
          // one no pod reports is unknown, and left out of the stamp by the core.
          for (const [kind, bySource] of reported) {
            for (const [name, report] of bySource) objects.set(sourceId(kind, name), stateObject(report.versions, ''));
          }
          return {
            get(kind, name) {
              if (isPodStatusKind(kind)) return reported.get(kind)?.has(name) ? REPORTED_META : undefined;
              const id = sourceId(kind, name);
              if (objects.has(id)) {
                const object = objects.get(id);
                return object === null ? undefined : readSourceMeta(object);
              }
              return listed.get(kind)?.find((m) => m.name === name);
            },
            names: (kind) => (isPodStatusKind(kind) ? [...(reported.get(kind)?.keys() ?? [])] : (listed.get(kind) ?? []).map((m) => m.name)),
          } satisfies SourceCatalog;
        }, false),
      // What a pattern matched is read now, in the time the deadline leaves; then one batch of digests.
      digests: (tracked) =>
        timed(async () => {
          const missing = tracked.filter((t) => !objects.has(sourceId(t.kind, t.name)) && !isPodStatusKind(t.kind));
          if (missing.length > 0) {
            const remaining = options.deadlineMs - (performance.now() - started);
            if (remaining <= 0) throw new ConfigstampError(ErrorCodes.DEADLINE, `reading sources in ${namespace}: no answer within ${options.deadlineMs} ms`);
            for (const [id, object] of await fetchSources(client, namespace, missing, { ...options, deadlineMs: remaining })) objects.set(id, object);
          }
          const key = hashKey();
          if (key === undefined) throw new ConfigstampError(ErrorCodes.HASH_KEY, 'the per-cluster hash key is not loaded yet');
          return digestsFromData(key, namespace, tracked, (kind, name) => objects.get(sourceId(kind, name)) ?? null);
        }, true),
      // The core leaves out what is not the API server's (a pod-status source's fold: versions.ts).
      versions: (tracked) => tracked.map((t) => readObjectMeta(objects.get(sourceId(t.kind, t.name)) ?? null).resourceVersion),
      hashKey,
    };
  };
}
