/**
 * Boot warm-up of the digest cache. Restart sync needs the digest of every tracked source; read
 * one GET at a time that is one request per source (10,000 sources, 10,000 requests) before a
 * single workload is decided. Two things fill the cache first:
 *
 * - The workloads' own sealed records (versions.ts). A workload whose record checks under the
 *   current hash key says, for each source it lists, "at this resourceVersion its digest for these
 *   keys is this"; where the listed source is still at that version, that is its digest now, and
 *   no data is read for it. A source that changed while the watcher was down is at another
 *   version, so it is read, digested and rolled as before; a record from another key (a lost or
 *   rotated key), or one edited, is not trusted, and the sources are read and re-keyed.
 * - For what is left: where a namespace's remaining tracked sources of a kind are many, and most of
 *   that namespace's sources of the kind, one paginated LIST with data reads them all: each page's
 *   objects are digested for the key selections their consumers need and dropped at once, so at
 *   most one page of data is held.
 *
 * Sources left out (few in their namespace, or listed at another version than the cache knows)
 * are read by the reconciles as before. A failed list is logged and skipped: the warm-up only
 * saves requests, it decides nothing.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { stampDigest } from '../shared/core/digest.js';
import { isPodStatusKind } from '../shared/core/kinds.js';
import type { SourceKind } from '../shared/core/kinds.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import type { KeySelection } from '../shared/core/references.js';
import { errorMessage } from '../shared/errors.js';
import { listPages } from '../shared/kube/client.js';
import type { KubeApi, ListPage } from '../shared/kube/client.js';
import { sourceFieldSelector, sourcePath } from '../shared/kube/paths.js';
import { mapBounded } from '../shared/kube/sources.js';
import type { Logger } from '../shared/log.js';
import { metaOf } from './cache.js';
import type { ClusterCache } from './cache.js';
import type { DigestCache } from './digest-cache.js';
import { selectionId } from './digest-cache.js';
import { keysOfTracked, trackWorkload } from '../shared/core/evaluate.js';
import type { TrackedSource } from '../shared/core/policy.js';
import { readRecorded, recordedDigests } from '../shared/core/decide.js';
import { parseVersionRecord, trustedVersions, versionsAnnotation } from '../shared/core/versions.js';
import type { WorkloadKind } from '../shared/core/kinds.js';

export interface WarmupOptions {
  /** A namespace's sources of a kind are listed only when at least this many are tracked... */
  readonly minTracked: number;
  /** ...and tracked ones are at least this share of all of them (so big unrelated ones are not read). */
  readonly minShare: number;
  /** Objects per page: bounds the data held at once. */
  readonly pageSize: number;
  /** Lists in flight at once. */
  readonly concurrency: number;
}

export const DEFAULT_WARMUP: WarmupOptions = { minTracked: 8, minShare: 0.25, pageSize: 100, concurrency: 4 };

/** The sources one namespace's workloads track, per kind: name → the key selections consumers need. */
type Needs = Map<string, Map<string, KeySelection>>;

export interface WarmupResult {
  readonly lists: number;
  readonly digested: number;
  readonly failedLists: number;
  /** Source digests taken from workloads' sealed records (no data read for them). */
  readonly seeded: number;
  /** Tracked workloads whose record was trusted, and those with a record that was not (unsealed, or not checking). */
  readonly trustedRecords: number;
  readonly untrustedRecords: number;
}

/** A tracked workload as the restart sync will decide it: its evaluated object and what it tracks. */
interface TrackedWorkload {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly object: unknown;
  readonly tracked: readonly TrackedSource[];
}

/** Workloads evaluated between two turns of the event loop, so a boot over 50,000 never blocks it for seconds. */
const YIELD_EVERY = 500;

/** Called once per workload: every YIELD_EVERY calls it gives the event loop a turn, and stops there when aborted. */
function pacer(signal: AbortSignal | undefined): () => Promise<void> | undefined {
  let n = 0;
  return () => (++n % YIELD_EVERY === 0 ? yieldToLoop().then(() => signal?.throwIfAborted()) : undefined);
}

/** The cached workloads that are tracked, with what each tracks (as the reconciles will evaluate them). */
async function trackedWorkloads(cache: ClusterCache, policy: PolicyOptions, signal: AbortSignal | undefined): Promise<TrackedWorkload[]> {
  const out: TrackedWorkload[] = [];
  const pace = pacer(signal);
  for (const key of cache.workloadKeys()) {
    await pace();
    const w = cache.workload(key);
    if (w === undefined) continue; // deleted while this loop yielded
    const object = cache.evaluated(w.kind, w.namespace, w.object, policy.workloadKinds);
    const { plan, tracked } = trackWorkload({ kind: w.kind, object, namespace: cache.namespaceView(w.namespace), policy }, cache.catalog(w.namespace));
    if (plan.tracked) out.push({ kind: w.kind, namespace: w.namespace, object, tracked });
  }
  return out;
}

/** The listed resourceVersion of a cached source (undefined when it is not cached). */
function listedVersion(cache: ClusterCache): (kind: SourceKind, namespace: string, name: string) => string | undefined {
  return (kind, namespace, name) => cache.source(kind, namespace, name)?.resourceVersion;
}

/**
 * Seeds the digest cache from each workload's sealed record: every source it vouches for that is
 * still at the version vouched for (read from the cache as it is then: a source written since
 * the record, or during this loop, is at another version and is not seeded). Returns the digests
 * seeded and the records trusted or not.
 */
async function seedFromRecords(
  workloads: readonly TrackedWorkload[],
  cache: ClusterCache,
  digests: DigestCache,
  hashKey: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<{ seeded: number; trustedRecords: number; untrustedRecords: number }> {
  const version = listedVersion(cache);
  let seeded = 0;
  let trustedRecords = 0;
  let untrustedRecords = 0;
  const pace = pacer(signal);
  for (const w of workloads) {
    await pace();
    const text = versionsAnnotation(w.object);
    if (text === undefined) continue;
    const recorded = recordedDigests(readRecorded(w.kind, w.object));
    const trusted = trustedVersions(parseVersionRecord(text), hashKey, w.namespace, keysOfTracked(w.tracked), (kind, name) => recorded.get(kind, name));
    if (trusted === undefined) {
      untrustedRecords++;
      continue;
    }
    trustedRecords++;
    for (const s of trusted) {
      if (version(s.kind, w.namespace, s.name) !== s.version) continue;
      digests.remember(s.kind, w.namespace, s.name, s.version, selectionId(s.keys), s.digest);
      seeded++;
    }
  }
  return { seeded, trustedRecords, untrustedRecords };
}

/** Which sources, per namespace and kind, the tracked workloads need digested and the cache does not know (keyed `namespace/kind`). */
async function trackedSourceNeeds(
  workloads: readonly TrackedWorkload[],
  cache: ClusterCache,
  digests: DigestCache,
  signal: AbortSignal | undefined,
): Promise<Map<string, { namespace: string; kind: SourceKind; needs: Needs }>> {
  const version = listedVersion(cache);
  const groups = new Map<string, { namespace: string; kind: SourceKind; needs: Needs }>();
  const pace = pacer(signal);
  for (const w of workloads) {
    await pace();
    for (const t of w.tracked) {
      // A pod-status source (CSI) is the watcher's own fold: nothing to list. One the cache knows a
      // digest of at its listed version, or absent (known as such), needs nothing either.
      if (isPodStatusKind(t.kind) || digests.known(w.namespace, t, version) !== undefined) continue;
      const id = `${w.namespace}/${t.kind}`;
      let group = groups.get(id);
      if (group === undefined) groups.set(id, (group = { namespace: w.namespace, kind: t.kind, needs: new Map() }));
      let selections = group.needs.get(t.name);
      if (selections === undefined) group.needs.set(t.name, (selections = new Map()));
      selections.set(selectionId(t.keys), t.keys);
    }
  }
  return groups;
}

export async function warmDigests(
  client: KubeApi,
  cache: ClusterCache,
  digests: DigestCache,
  hashKey: Uint8Array,
  policy: PolicyOptions,
  log: Logger,
  options: WarmupOptions = DEFAULT_WARMUP,
  signal?: AbortSignal,
): Promise<WarmupResult> {
  const workloads = await trackedWorkloads(cache, policy, signal);
  const seeds = await seedFromRecords(workloads, cache, digests, hashKey, signal);
  const worth = [...(await trackedSourceNeeds(workloads, cache, digests, signal)).values()].filter(({ namespace, kind, needs }) => {
    const total = [...cache.catalog(namespace).names(kind)].length;
    return needs.size >= options.minTracked && needs.size >= total * options.minShare;
  });
  let lists = 0;
  let digested = 0;
  let failedLists = 0;
  await mapBounded(worth, options.concurrency, async ({ namespace, kind, needs }) => {
    try {
      const pages = listPages<ListPage & { items?: unknown[] }>(client, sourcePath(kind, namespace), {
        query: { limit: options.pageSize, fieldSelector: sourceFieldSelector(kind) },
        timeoutMs: 30_000,
        signal,
      });
      for await (const page of pages) {
        lists++;
        for (const object of page.items ?? []) {
          const m = metaOf(object);
          const selections = m.name === undefined ? undefined : needs.get(m.name);
          if (selections === undefined || m.resourceVersion === undefined) continue;
          for (const [sel, keys] of selections) {
            digests.remember(kind, namespace, m.name!, m.resourceVersion, sel, stampDigest(hashKey, { kind, namespace, name: m.name! }, keys, object));
            digested++;
          }
        }
      }
    } catch (err) {
      failedLists++;
      log.warn({ namespace, kind, err: errorMessage(err) }, 'warm-up list failed; these sources will be read one by one');
    }
  });
  return { lists, digested, failedLists, ...seeds };
}
