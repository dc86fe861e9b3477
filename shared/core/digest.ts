/**
 * The keyed digest of one source: HMAC-SHA256, keyed by the per-cluster key, over a canonical
 * encoding of exactly the keys the pod consumes. The encoding is length-prefixed throughout, so
 * two different sources never encode alike (Reloader's `k=v;` joining does: {a:"b;c=d"} vs
 * {a:"b",c:"d"}); `data` and `binaryData` stay apart; an absent source, an absent key and an empty
 * value all differ; metadata never enters. Without the key nobody can test guesses of a Secret's
 * value against the digest, which sits in plain sight on the pod template.
 */
import { createHmac } from 'node:crypto';
import { asRecord, getPath } from './json.js';
import type { JsonRecord } from './json.js';
import type { SourceKind } from './kinds.js';
import type { KeySelection } from './references.js';

const FORMAT = 'configstamp.digest.v1';
/** Hex characters kept in the stamp: 64 bits, plenty to tell two versions apart. */
export const SHORT_DIGEST_LENGTH = 16;
/** What the stamp records for a source that does not exist. */
export const ABSENT = 'absent';

export interface SourceIdentity {
  readonly kind: SourceKind;
  readonly namespace: string;
  readonly name: string;
}

/** One section of a source (`data` or `binaryData`) as the API sends it. */
interface Section {
  readonly values: JsonRecord;
  readonly wire: WireEncoding;
}

const NO_VALUES: JsonRecord = Object.freeze({});

/** A Secret's `data` is base64 and it has no `binaryData`; a ConfigMap's `data` is text. */
function readSections(kind: SourceKind, object: unknown): readonly [data: Section, binaryData: Section] {
  const section = (field: string, wire: WireEncoding): Section => ({ values: asRecord(getPath(object, [field])) ?? NO_VALUES, wire });
  return kind === 'Secret'
    ? [section('data', 'base64'), { values: NO_VALUES, wire: 'base64' }]
    : [section('data', 'utf8'), section('binaryData', 'base64')];
}

/** A key's value; a non-string value is malformed and reads as absent. */
function valueOf(section: Section, key: string): string | undefined {
  const value = Object.hasOwn(section.values, key) ? section.values[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function encodeWhole(enc: Encoder, section: Section): void {
  const keys = Object.keys(section.values).filter((key) => typeof section.values[key] === 'string').sort(compareKeys);
  enc.u32(keys.length);
  for (const key of keys) enc.field(key).field(section.values[key] as string, section.wire);
}

function encodeOptionalValue(enc: Encoder, section: Section, key: string): void {
  const value = valueOf(section, key);
  if (value === undefined) enc.byte(0);
  else enc.byte(1).field(value, section.wire);
}

/** A source that does not exist: null, or undefined as a Map lookup answers for a missing key. */
function isAbsent(object: unknown): object is null | undefined {
  return object === null || object === undefined;
}

/**
 * The canonical bytes for one source. `object` is the ConfigMap or Secret as the API returns it,
 * or null (or undefined) when it does not exist.
 */
export function encodeSource(id: SourceIdentity, keys: KeySelection, object: unknown | null): Buffer {
  const enc = new Encoder().field(FORMAT).field(id.kind).field(id.namespace).field(id.name);
  if (keys.all) {
    enc.byte(0x41);
  } else {
    const selected = [...keys.keys].sort(compareKeys);
    enc.byte(0x4b).u32(selected.length);
    for (const key of selected) enc.field(key);
  }
  if (isAbsent(object)) return enc.byte(0).done();
  enc.byte(1);
  const [data, binaryData] = readSections(id.kind, object);
  if (keys.all) {
    encodeWhole(enc, data);
    encodeWhole(enc, binaryData);
  } else {
    for (const key of [...keys.keys].sort(compareKeys)) {
      encodeOptionalValue(enc, data, key);
      encodeOptionalValue(enc, binaryData, key);
    }
  }
  return enc.done();
}

/** Full hex HMAC-SHA256 of the canonical encoding. */
export function digestSource(hashKey: Uint8Array, id: SourceIdentity, keys: KeySelection, object: unknown | null): string {
  return createHmac('sha256', hashKey).update(encodeSource(id, keys, object)).digest('hex');
}

/** What the stamp records for a source: a short keyed digest, or "absent". */
export function stampDigest(hashKey: Uint8Array, id: SourceIdentity, keys: KeySelection, object: unknown | null): string {
  return isAbsent(object) ? ABSENT : digestSource(hashKey, id, keys, object).slice(0, SHORT_DIGEST_LENGTH);
}
