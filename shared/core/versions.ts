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
 */
import { Ours } from './annotations.js';
import { getPath } from './json.js';
import { SOURCE_KIND_TABLE, isPodStatusKind, sourceKindByToken } from './kinds.js';
import type { SourceKind } from './kinds.js';
import { isSourceName } from './references.js';
import { SourceTable } from './source-table.js';
import type { Stamp } from './stamp.js';

export const VERSIONS_PREFIX = 'v1:';
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

/** The recorded versions; null for anything that is not a well-formed value (read as no record). */
export function parseVersions(value: unknown): SourceTable<string> | null {
  if (typeof value !== 'string' || value.length > MAX_LENGTH || !value.startsWith(VERSIONS_PREFIX)) return null;
  const out = new SourceTable<string>();
  const body = value.slice(VERSIONS_PREFIX.length);
  if (body === '') return out;
  for (const item of body.split(',')) {
    const slash = item.indexOf('/');
    const eq = item.lastIndexOf('=');
    if (slash < 0 || eq < slash) return null;
    const kind = sourceKindByToken(item.slice(0, slash));
    const name = item.slice(slash + 1, eq);
    const version = item.slice(eq + 1);
    if (kind === undefined || !hasRecordableVersions(kind) || !isSourceName(name) || !VERSION.test(version) || out.get(kind, name) !== undefined) return null;
    out.set(kind, name, version);
  }
  return out;
}

/** The annotation for a record of `stamp`, with each source's version from `versions`; null when none is known (a stale one goes). */
export function versionsText(stamp: Stamp, versions: SourceTable<string>): string | null {
  return formatVersions(stamp.map((e) => ({ kind: e.kind, name: e.name, version: versions.get(e.kind, e.name) }))) ?? null;
}
