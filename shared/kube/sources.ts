/**
 * Fresh reads of the ConfigMaps and Secrets a workload tracks: in parallel (bounded), under one
 * deadline, so an admission answers well inside its webhook timeout. The objects are handed to
 * the digest and dropped; nothing here keeps Secret data.
 */
import { ConfigstampError, ErrorCodes, errorMessage } from '../errors.js';
import { isReport, readPodStatus } from '../core/csi.js';
import type { PodStatusReport } from '../core/csi.js';
import { SOURCE_KIND_TABLE } from '../core/kinds.js';
import type { SourceKind } from '../core/kinds.js';
import { readSourceMeta } from '../core/meta.js';
import type { SourceMeta } from '../core/policy.js';
import { sourceId } from '../core/references.js';
import type { KubeApi, ListPage } from './client.js';
import { KubeApiError, METADATA_LIST_ACCEPT, listPages } from './client.js';
import { groupPath, sourcePath } from './paths.js';

export interface FetchOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** The whole fetch must finish by then (ms from the call). */
  readonly deadlineMs: number;
}

export interface SourceKey {
  readonly kind: SourceKind;
  readonly name: string;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * GETs each source; the map holds the object, or null when it does not exist. Throws
 * ConfigstampError (SOURCE_READ or DEADLINE) naming the source when any read fails.
 */
export async function fetchSources(
  client: KubeApi,
  namespace: string,
  keys: readonly SourceKey[],
  options: FetchOptions,
): Promise<Map<string, unknown | null>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.deadlineMs);
  try {
    const objects = await mapBounded(keys, options.concurrency, async (key) => {
      try {
        return await client.getOrNull(sourcePath(key.kind, namespace, key.name), { signal: controller.signal });
      } catch (err) {
        if (controller.signal.aborted) {
          throw new ConfigstampError(ErrorCodes.DEADLINE, `reading ${key.kind} ${namespace}/${key.name}: no answer within ${options.deadlineMs} ms`);
        }
        throw new ConfigstampError(ErrorCodes.SOURCE_READ, `reading ${key.kind} ${namespace}/${key.name}: ${errorMessage(err)}`, { cause: err });
      }
    });
    return new Map(keys.map((key, i) => [sourceId(key.kind, key.name), objects[i] ?? null]));
  } finally {
    clearTimeout(timer);
  }
}

/** A listed source's metadata (the core's SourceMeta) and its name. */
export type NamedSourceMeta = SourceMeta & { readonly name: string };

/** Names and metadata of every source of a kind in a namespace, without their data. */
export async function listSourceMetadata(client: KubeApi, kind: SourceKind, namespace: string, signal?: AbortSignal): Promise<NamedSourceMeta[]> {
  const out: NamedSourceMeta[] = [];
  for await (const page of listPages<ListPage & { items?: unknown[] }>(client, sourcePath(kind, namespace), {
    accept: METADATA_LIST_ACCEPT,
    query: { limit: 500 },
    signal,
  })) {
    for (const item of page.items ?? []) {
      const meta = readSourceMeta(item);
      if (meta.name !== undefined) out.push({ ...meta, name: meta.name });
    }
  }
  return out;
}

/**
 * What the status objects of a pod-status source kind (the CSI driver's SecretProviderClassPodStatus)
 * in a namespace report, or in every namespace when `namespace` is undefined: none when the CRD is
 * not served (404). Objects that report nothing usable are left out.
 */
export async function listPodStatusReports(client: KubeApi, kind: SourceKind, namespace: string | undefined, signal?: AbortSignal): Promise<PodStatusReport[]> {
  const api = SOURCE_KIND_TABLE[kind].podStatus;
  if (api === undefined) return [];
  const out: PodStatusReport[] = [];
  try {
    for await (const page of listPages<ListPage & { items?: unknown[] }>(client, groupPath(api.group, api.version, api.plural, namespace), {
      query: { limit: 500 },
      signal,
    })) {
      for (const item of page.items ?? []) {
        const read = readPodStatus(item);
        if (isReport(read)) out.push(read);
      }
    }
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return [];
    throw err;
  }
  return out;
}
