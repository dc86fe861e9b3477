/**
 * The versions a workload's record was true at: beside the keyed digests it records, configstamp
 * writes the resourceVersion of each source whose digest it recorded, e.g.
 *   v1:configmap/app-config=48213,secret/db-credentials=48230
 * on the workload's metadata (`configstamp.io/source-versions`). A resourceVersion is not secret
 * and changes on every write of the object, so when a recorded digest differs from the current
 * one but the source's resourceVersion is still the one recorded, its data cannot have changed:
 * the hash key did (a reinstall that lost it), and the workload is re-keyed, not rolled.
 *
 * Only equality is ever asked of a resourceVersion, as the API conventions allow. A source that
 * was absent, or a pod-status source (CSI) that has no single version, is left out, and so is
 * anything that does not parse: a source not listed is never re-keyed, it rolls as before.
 *
 * Sealed records (v2). A writer that holds the hash key also seals what it wrote:
 *   v2:<seal>:configmap/app-config=48213,secret/db-credentials=48230
 * where the seal is an HMAC under the hash key over the workload's namespace and, for each listed
 * source, its kind, name, the keys consumed, its resourceVersion and the digest recorded for it.
 * A record whose seal checks under the current key is a statement only a holder of that key could
 * make: "this source, at this version, has this digest for these keys". A restart takes such a
 * statement as the source's digest and reads no data for it (warmup.ts). A record written under
 * another key, edited, moved to another namespace, or whose template stamp or consumed keys
 * changed since, does not check and is not trusted; it still serves re-keying as a v1 record does.
 */
import { Ours } from './annotations.js';
import { writeSelection } from './digest.js';
import { Encoder } from './encoder.js';
import { HmacSha256 } from './hmac.js';
import { getPath } from './json.js';
import { SOURCE_KIND_TABLE, isPodStatusKind, sourceKindByToken } from './kinds.js';
import type { SourceKind } from './kinds.js';
import { isSourceName } from './references.js';
import type { KeySelection } from './references.js';
import { SourceTable } from './source-table.js';
import type { Stamp } from './stamp.js';

export const VERSIONS_PREFIX = 'v1:';
export const SEALED_PREFIX = 'v2:';
const SEAL_FORMAT = 'configstamp.source-versions.v2';
/** Hex characters of the seal: 128 bits. */
export const SEAL_LENGTH = 32;
const SEAL = /^[0-9a-f]{32}$/;
/** What an API server writes is decimal; anything else a listing may carry stays unambiguous. */
const VERSION = /^[0-9A-Za-z._-]{1,64}$/;
const MAX_LENGTH = 128 * 1024;

export interface SourceVersion {
  readonly kind: SourceKind;
  readonly name: string;
  /** The source's resourceVersion when its digest was taken; undefined when it had none (absent). */
  readonly version: string | undefined;
}

export function isRecordableVersion(version: string | undefined): version is string {
  return version !== undefined && VERSION.test(version);
}

/**
 * Whether a kind's versions are the API server's: a pod-status source's (CSI) is the watcher's
 * own count of folded states, which starts again with each process, so it is never recorded.
 */
export function hasRecordableVersions(kind: SourceKind): boolean {
  return !isPodStatusKind(kind);
}

/** The annotation's value for these sources (in the order given: callers pass stamp order); undefined when none has a version. */
export function formatVersions(entries: Iterable<SourceVersion>): string | undefined {
  const items: string[] = [];
  for (const e of entries)
    if (hasRecordableVersions(e.kind) && isRecordableVersion(e.version)) items.push(`${SOURCE_KIND_TABLE[e.kind].token}/${e.name}=${e.version}`);
  return items.length === 0 ? undefined : VERSIONS_PREFIX + items.join(',');
}

/** The versions annotation on an object's own metadata, as written; undefined when it has none. */
export function versionsAnnotation(object: unknown): string | undefined {
  const value = getPath(object, ['metadata', 'annotations', Ours.sourceVersions]);
  return typeof value === 'string' ? value : undefined;
}

/** A record as written: its sources in the order listed, and its seal (v2) or none (v1). */
export interface VersionRecord {
  readonly entries: readonly SourceVersion[];
  readonly table: SourceTable<string>;
  readonly seal: string | undefined;
}

/** The record; null for anything that is not a well-formed value (read as no record). */
export function parseVersionRecord(value: unknown): VersionRecord | null {
  if (typeof value !== 'string' || value.length > MAX_LENGTH) return null;
  let seal: string | undefined;
  let body: string;
  if (value.startsWith(VERSIONS_PREFIX)) body = value.slice(VERSIONS_PREFIX.length);
  else if (value.startsWith(SEALED_PREFIX)) {
    seal = value.slice(SEALED_PREFIX.length, SEALED_PREFIX.length + SEAL_LENGTH);
    if (!SEAL.test(seal) || value[SEALED_PREFIX.length + SEAL_LENGTH] !== ':') return null;
    body = value.slice(SEALED_PREFIX.length + SEAL_LENGTH + 1);
  } else return null;
  const table = new SourceTable<string>();
  const entries: SourceVersion[] = [];
  if (body !== '') {
    for (const item of body.split(',')) {
      const slash = item.indexOf('/');
      const eq = item.lastIndexOf('=');
      if (slash < 0 || eq < slash) return null;
      const kind = sourceKindByToken(item.slice(0, slash));
      const name = item.slice(slash + 1, eq);
      const version = item.slice(eq + 1);
      if (kind === undefined || !hasRecordableVersions(kind) || !isSourceName(name) || !VERSION.test(version) || table.get(kind, name) !== undefined)
        return null;
      table.set(kind, name, version);
      entries.push({ kind, name, version });
    }
  }
  // A sealed record lists what it vouches for: one that lists nothing is not a record.
  if (seal !== undefined && entries.length === 0) return null;
  return { entries, table, seal };
}

/** The recorded versions; null for anything that is not a well-formed value (read as no record). */
export function parseVersions(value: unknown): SourceTable<string> | null {
  return parseVersionRecord(value)?.table ?? null;
}

/** What a writer holding the hash key needs to seal its record. */
export interface VersionSeal {
  readonly hashKey: Uint8Array;
  /** The workload's namespace, which is its sources' namespace. */
  readonly namespace: string;
  /** The keys the workload consumes of a tracked source (evaluate.ts keysOfTracked); undefined for one it does not track. */
  readonly keysOf: (kind: SourceKind, name: string) => KeySelection | undefined;
}

/** One statement of a sealed record: this source, at this version, has this digest for these keys. */
export interface SealedSource {
  readonly kind: SourceKind;
  readonly name: string;
  readonly keys: KeySelection;
  readonly version: string;
  readonly digest: string;
}

/** The seal over a record's statements, in the order listed. */
export function sealOf(hashKey: Uint8Array, namespace: string, sources: readonly SealedSource[]): string {
  const hmac = new HmacSha256(hashKey);
  const enc = new Encoder();
  try {
    enc.bytes(hmac.innerPad).field(SEAL_FORMAT).field(namespace).u32(sources.length);
    for (const s of sources) {
      enc.field(s.kind).field(s.name);
      writeSelection(enc, s.keys);
      enc.field(s.version).field(s.digest);
    }
    return hmac.hexOfPadded(enc.done()).slice(0, SEAL_LENGTH);
  } finally {
    enc.wipe();
    hmac.wipe();
  }
}

/**
 * The statements of a sealed record, when its seal checks under `hashKey` with the keys each
 * source is consumed by now and the digest the workload records for it now; undefined when it
 * is not sealed, or does not check (written under another key, edited, or its stamp or consumed
 * keys changed since): then none of it is trusted.
 */
export function trustedVersions(
  record: VersionRecord | null,
  hashKey: Uint8Array,
  namespace: string,
  keysOf: (kind: SourceKind, name: string) => KeySelection | undefined,
  digestOf: (kind: SourceKind, name: string) => string | undefined,
): SealedSource[] | undefined {
  if (record === null || record.seal === undefined) return undefined;
  const sources: SealedSource[] = [];
  for (const e of record.entries) {
    const keys = keysOf(e.kind, e.name);
    const digest = digestOf(e.kind, e.name);
    if (keys === undefined || digest === undefined || e.version === undefined) return undefined;
    sources.push({ kind: e.kind, name: e.name, keys, version: e.version, digest });
  }
  return sealOf(hashKey, namespace, sources) === record.seal ? sources : undefined;
}

/**
 * The annotation for a record of `stamp`, with each source's version from `versions`; null when
 * none is known (a stale one goes). With `seal`, the record is sealed (v2) over the digests the
 * stamp gives; without, or when a listed source's consumed keys are not known, it is v1.
 */
export function versionsText(stamp: Stamp, versions: SourceTable<string>, seal?: VersionSeal): string | null {
  // One pass: the sources listed (a recordable version known), each with its statement's keys.
  const listed: { kind: SourceKind; name: string; version: string; digest: string; keys: KeySelection | undefined }[] = [];
  for (const e of stamp) {
    const version = versions.get(e.kind, e.name);
    if (hasRecordableVersions(e.kind) && isRecordableVersion(version))
      listed.push({ kind: e.kind, name: e.name, version, digest: e.digest, keys: seal?.keysOf(e.kind, e.name) });
  }
  const text = formatVersions(listed);
  if (text === undefined) return null;
  if (seal === undefined) return text;
  const sources: SealedSource[] = [];
  for (const l of listed) {
    if (l.keys === undefined) return text;
    sources.push({ kind: l.kind, name: l.name, keys: l.keys, version: l.version, digest: l.digest });
  }
  return `${SEALED_PREFIX}${sealOf(seal.hashKey, seal.namespace, sources)}:${text.slice(VERSIONS_PREFIX.length)}`;
}
