/**
 * The stamp: one annotation listing every tracked source with its short digest, sorted, e.g.
 *   v1:configmap/app-config=3f9a0c1d2e4b5a67,secret/db-credentials=absent
 * The leading version lets a later release read today's stamps as they are, so an upgrade
 * restarts nothing. Anything that does not parse (hand-edited, truncated) reads as no stamp.
 */
import { ABSENT, SHORT_DIGEST_LENGTH } from './digest.js';
import { SOURCE_KIND_TABLE, sourceKindByToken } from './kinds.js';
import type { SourceKind } from './kinds.js';
import { compareCodeUnits } from './order.js';
import { isSourceName, sourceId } from './references.js';

export interface StampEntry {
  readonly kind: SourceKind;
  readonly name: string;
  /** Short hex digest, or "absent". */
  readonly digest: string;
}

/** Entries sorted by kind then name, each source once. */
export type Stamp = readonly StampEntry[];

export const STAMP_VERSION = 'v1';
const PREFIX = `${STAMP_VERSION}:`;

const DIGEST = new RegExp(`^([0-9a-f]{${SHORT_DIGEST_LENGTH}}|${ABSENT})$`);
/** Annotation values are capped by the API server at 256 KiB in total; refuse anything absurd. */
const MAX_STAMP_LENGTH = 128 * 1024;

/** Orders by source id; within one kind the ids share their prefix, so the names decide. */
function compareEntries(a: StampEntry, b: StampEntry): number {
  return a.kind === b.kind ? compareCodeUnits(a.name, b.name) : compareCodeUnits(sourceId(a.kind, a.name), sourceId(b.kind, b.name));
}

/** In stamp order; `strictly`: each source once too (every entry strictly after the one before). */
function isSorted(entries: readonly StampEntry[], strictly = false): boolean {
  const outOfOrder = strictly ? 0 : 1; // compareEntries answers -1, 0 or 1
  for (let i = 1; i < entries.length; i++) if (compareEntries(entries[i - 1]!, entries[i]!) >= outOfOrder) return false;
  return true;
}

/** Entries in stamp order; most arrive sorted already (a stamp is written sorted). */
function sortEntries(entries: StampEntry[]): StampEntry[] {
  return isSorted(entries) ? entries : entries.sort(compareEntries);
}

/** Builds a stamp from entries in any order; a source listed twice keeps its last digest. */
export function makeStamp(entries: Iterable<StampEntry>): Stamp {
  const copies: StampEntry[] = [];
  for (const e of entries) copies.push({ kind: e.kind, name: e.name, digest: e.digest });
  // Most callers pass the tracked sources, which come sorted and each once.
  if (isSorted(copies, true)) return copies;
  const byId = new Map<string, StampEntry>();
  for (const e of copies) byId.set(sourceId(e.kind, e.name), e);
  return sortEntries([...byId.values()]);
}

export function formatStamp(stamp: Stamp): string {
  const body = sortEntries([...stamp])
    .map((e) => `${SOURCE_KIND_TABLE[e.kind].token}/${e.name}=${e.digest}`)
    .join(',');
  return `${PREFIX}${body}`;
}

/** Parses a stamp annotation; returns null for anything that is not a well-formed stamp. */
export function parseStamp(value: unknown): Stamp | null {
  if (typeof value !== 'string' || value.length > MAX_STAMP_LENGTH) return null;
  if (!value.startsWith(PREFIX)) return null;
  const body = value.slice(PREFIX.length);
  if (body === '') return [];
  const entries: StampEntry[] = [];
  for (const item of body.split(',')) {
    const slash = item.indexOf('/');
    const eq = item.lastIndexOf('=');
    if (slash < 0 || eq < slash) return null;
    const token = item.slice(0, slash);
    const kind = sourceKindByToken(token);
    const name = item.slice(slash + 1, eq);
    const digest = item.slice(eq + 1);
    if (kind === undefined || !isSourceName(name) || !DIGEST.test(digest)) return null;
    entries.push({ kind, name, digest });
  }
  // Sorted, a source listed twice sits beside itself.
  return isSorted(entries, true) || isSorted(entries.sort(compareEntries), true) ? entries : null;
}

export function stampsEqual(a: Stamp, b: Stamp): boolean {
  return formatStamp(a) === formatStamp(b);
}

/** A lookup from source id to its digest. */
export function stampIndex(stamp: Stamp): Map<string, string> {
  return new Map(stamp.map((e) => [sourceId(e.kind, e.name), e.digest]));
}
