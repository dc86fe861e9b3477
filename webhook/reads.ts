/**
 * Reading what a tracked workload's stamp needs, fresh from the API server: the sources it wants
 * (parallel, bounded GETs) and, for Reloader's regular-expression name lists, the metadata of
 * every source of that kind in the namespace; then the sources those patterns matched. All of it
 * under one deadline. Secret objects live only until the caller has taken their digests.
 */
import { asRecord, asString, asStringMap } from '../shared/core/json.js';
import type { SourceKind } from '../shared/core/kinds.js';
import { selectTrackedSources } from '../shared/core/policy.js';
import type { PolicyOptions, SourceCatalog, SourceMeta, TrackedSource, TrackingPlan } from '../shared/core/policy.js';
import { sourceId } from '../shared/core/references.js';
import { ConfigstampError, ErrorCodes, errorMessage } from '../shared/errors.js';
import type { KubeClient } from '../shared/kube/client.js';
import { fetchSources, listSourceMetadata } from '../shared/kube/sources.js';
import type { FetchOptions, SourceMetadata } from '../shared/kube/sources.js';

export type TrackedPlan = Extract<TrackingPlan, { tracked: true }>;

export interface SourceRead {
  readonly tracked: readonly TrackedSource[];
  /** Source id → object, or null when it does not exist. */
  readonly objects: ReadonlyMap<string, unknown | null>;
}

/** Reads the sources of one admission; throws ConfigstampError (SOURCE_READ, DEADLINE, API). */
export type SourceReader = (namespace: string, plan: TrackedPlan) => Promise<SourceRead>;

function metaOf(object: unknown): SourceMeta {
  const metadata = asRecord(asRecord(object)?.metadata);
  return { annotations: asStringMap(metadata?.annotations), labels: asStringMap(metadata?.labels), type: asString(asRecord(object)?.type) };
}

async function listPatternKinds(client: KubeClient, namespace: string, plan: TrackedPlan, deadlineMs: number): Promise<Map<SourceKind, SourceMetadata[]>> {
  const kinds = [...new Set(plan.patterns.map((p) => p.kind))];
  const signal = AbortSignal.timeout(deadlineMs);
  const lists = await Promise.all(kinds.map(async (kind) => {
    try {
      return await listSourceMetadata(client, kind, namespace, signal);
    } catch (err) {
      if (signal.aborted) throw new ConfigstampError(ErrorCodes.DEADLINE, `listing ${kind}s in ${namespace}: no answer within ${deadlineMs} ms`);
      throw new ConfigstampError(ErrorCodes.SOURCE_READ, `listing ${kind}s in ${namespace}: ${errorMessage(err)}`, { cause: err });
    }
  }));
  return new Map(kinds.map((kind, i) => [kind, lists[i]!]));
}

/** A SourceReader over the real API, timing each read with `observe` (seconds). */
export function kubeSourceReader(client: KubeClient, policy: PolicyOptions, options: FetchOptions, observe: (seconds: number) => void = () => undefined): SourceReader {
  return async (namespace, plan) => {
    const started = performance.now();
    try {
      const [objects, listed] = await Promise.all([
        fetchSources(client, namespace, plan.wants, options),
        listPatternKinds(client, namespace, plan, options.deadlineMs),
      ]);
      const catalog: SourceCatalog = {
        get(kind, name) {
          const id = sourceId(kind, name);
          if (objects.has(id)) {
            const object = objects.get(id);
            return object === null ? undefined : metaOf(object);
          }
          return listed.get(kind)?.find((m) => m.name === name);
        },
        names: (kind) => (listed.get(kind) ?? []).map((m) => m.name),
      };
      const tracked = selectTrackedSources(plan, catalog, policy);
      const missing = tracked.filter((t) => !objects.has(sourceId(t.kind, t.name)));
      if (missing.length > 0) {
        const remaining = options.deadlineMs - (performance.now() - started);
        if (remaining <= 0) throw new ConfigstampError(ErrorCodes.DEADLINE, `reading sources in ${namespace}: no answer within ${options.deadlineMs} ms`);
        const more = await fetchSources(client, namespace, missing, { ...options, deadlineMs: remaining });
        for (const [id, object] of more) objects.set(id, object);
      }
      return { tracked, objects };
    } finally {
      observe((performance.now() - started) / 1000);
    }
  };
}
