/**
 * The current digests of a workload's tracked sources, kept per version, not data. Digests are
 * cached per (source, resourceVersion, key selection); a source's data is read (GET) only when a
 * digest is missing or a fresh read is asked for, handed to the core's digest and dropped at once.
 * So memory grows with the number of tracked sources, never with their payload.
 */
import { ABSENT, stampDigest } from '../shared/core/digest.js';
import { isPodStatusKind } from '../shared/core/kinds.js';
import type { SourceKind } from '../shared/core/kinds.js';
import type { SourceCatalog, TrackedSource } from '../shared/core/policy.js';
import type { KeySelection } from '../shared/core/references.js';
import { sourceId } from '../shared/core/references.js';
import type { EvaluationPort } from '../shared/core/evaluate.js';
import type { SourceKey } from '../shared/kube/sources.js';
import { metaOf } from './cache.js';
import { namespacedSourceKey } from './keys.js';

/** Reads sources: sourceId → object, or null when absent. */
export type SourceFetcher = (namespace: string, keys: readonly SourceKey[]) => Promise<Map<string, unknown | null>>;

/** What the cache knows of a source's current version: its resourceVersion, or undefined when absent. */
export type VersionLookup = (kind: SourceKind, namespace: string, name: string) => string | undefined;

/**
 * A fetcher that reads ConfigMaps and Secrets with `read` and answers a pod-status source (a CSI
 * SecretProviderClass) from `folded`: its folded state as the digest reads it, or null while no
 * pod reports it. The watcher and `configstamp plan` both fetch this way.
 */
export function foldedSourceFetcher(read: SourceFetcher, folded: (kind: SourceKind, namespace: string, name: string) => unknown | null): SourceFetcher {
  return async (namespace, keys) => {
    const out = await read(
      namespace,
      keys.filter((k) => !isPodStatusKind(k.kind)),
    );
    for (const k of keys) if (isPodStatusKind(k.kind)) out.set(sourceId(k.kind, k.name), folded(k.kind, namespace, k.name));
    return out;
  };
}

/**
 * The sources one reconcile read from the API server (namespaced source key → the version read,
 * null for absent): its confirming reads take them as fresh instead of reading them again.
 */
export type ReadNow = Map<string, string | null>;

/**
 * The cache's name for a key selection, one per selection: "*" for all keys, else the sorted keys
 * as a JSON array (which never reads "*", and keeps keys apart whatever characters they hold: a
 * pod may name a key "*", or one with a NUL in it, that no ConfigMap can have).
 */
export function selectionId(keys: KeySelection): string {
  return keys.all ? '*' : JSON.stringify([...keys.keys].sort());
}

/**
 * What is known of one version of a source: almost every source is consumed with one key
 * selection, so that one is held inline and a Map only holds the others (a Map per source would
 * cost more than the digest it holds, at hundreds of thousands of sources).
 */
interface VersionDigests {
  readonly rv: string;
  sel: string;
  digest: string;
  more?: Map<string, string>;
}

export class DigestCache {
  private readonly cache = new Map<string, VersionDigests>();
  /** Source reads made (for tests and benchmarks). */
  reads = 0;

  constructor(
    private readonly hashKey: Uint8Array,
    private readonly fetch: SourceFetcher,
  ) {}

  /** Drops what is known of a source (its version changed or it is gone). */
  forget(kind: SourceKind, namespace: string, name: string): void {
    this.cache.delete(namespacedSourceKey(namespace, kind, name));
  }

  get size(): number {
    return this.cache.size;
  }

  /** Records the digest of one version of a source for one key selection (`selectionId`). */
  remember(kind: SourceKind, namespace: string, name: string, rv: string, sel: string, digest: string): void {
    const key = namespacedSourceKey(namespace, kind, name);
    const entry = this.cache.get(key);
    if (entry === undefined || entry.rv !== rv) this.cache.set(key, { rv, sel, digest });
    else if (entry.sel === sel) entry.digest = digest;
    else (entry.more ??= new Map()).set(sel, digest);
  }

  /**
   * The digest known for the version of a source that `versions` reports: ABSENT when it reports
   * none (the source does not exist), undefined when that version was never digested.
   */
  known(namespace: string, source: TrackedSource, versions: VersionLookup): string | undefined {
    const rv = versions(source.kind, namespace, source.name);
    if (rv === undefined) return ABSENT;
    const hit = this.cache.get(namespacedSourceKey(namespace, source.kind, source.name));
    if (hit?.rv !== rv) return undefined;
    const sel = selectionId(source.keys);
    return hit.sel === sel ? hit.digest : hit.more?.get(sel);
  }

  /**
   * The digest of each tracked source, in order. With `versions`, cached digests of the versions
   * the cache knows are used and only the rest are read; without, every source is read afresh.
   */
  async digestsOf(
    namespace: string,
    tracked: readonly TrackedSource[],
    versions?: VersionLookup,
    digestedAt?: (string | undefined)[],
    readNow?: ReadNow,
  ): Promise<string[]> {
    const at: (string | undefined)[] = new Array(tracked.length);
    const digests = tracked.map((t, i) => {
      if (versions !== undefined) {
        at[i] = versions(t.kind, namespace, t.name);
        return this.known(namespace, t, versions);
      }
      // Fresh: what this reconcile read from the API server just now counts as fresh.
      const read = readNow?.get(namespacedSourceKey(namespace, t.kind, t.name));
      if (read === undefined) return undefined;
      at[i] = read ?? undefined;
      return read === null ? ABSENT : this.known(namespace, t, () => read);
    });
    const missing = tracked.filter((_, i) => digests[i] === undefined);
    if (missing.length > 0) {
      this.reads += missing.length;
      const objects = await this.fetch(
        namespace,
        missing.map((t) => ({ kind: t.kind, name: t.name })),
      );
      tracked.forEach((t, i) => {
        if (digests[i] !== undefined) return;
        const object = objects.get(sourceId(t.kind, t.name)) ?? null;
        const digest = stampDigest(this.hashKey, { kind: t.kind, namespace, name: t.name }, t.keys, object);
        digests[i] = digest;
        const rv = metaOf(object).resourceVersion;
        if (rv !== undefined) this.remember(t.kind, namespace, t.name, rv, selectionId(t.keys), digest);
        readNow?.set(namespacedSourceKey(namespace, t.kind, t.name), rv ?? null);
        at[i] = rv;
      });
    }
    // `digestedAt`, when asked for: the version each digest is of (the cache's, or the one just read).
    if (digestedAt !== undefined) for (let i = 0; i < at.length; i++) digestedAt[i] = digests[i] === ABSENT ? undefined : at[i];
    return digests as string[];
  }

  /**
   * The watcher's port into the core's evaluation: the catalog it keeps, and digests from this
   * cache (by the versions `versions` reports), reading only what is missing; without `versions`,
   * every tracked source is read afresh (the confirming reads before a rollout).
   */
  port(namespace: string, catalog: SourceCatalog, versions?: VersionLookup, readNow?: ReadNow): EvaluationPort {
    let digestedAt: (string | undefined)[] = [];
    return {
      catalog: () => catalog,
      digests: (tracked) => this.digestsOf(namespace, tracked, versions, (digestedAt = []), readNow),
      versions: () => digestedAt,
      hashKey: () => this.hashKey,
    };
  }
}
