/**
 * The keyed digest of one source: HMAC-SHA256, keyed by the per-cluster key, over a canonical
 * encoding of exactly the keys the pod consumes. The encoding is length-prefixed throughout, so
 * two different sources never encode alike (Reloader's `k=v;` joining does: {a:"b;c=d"} vs
 * {a:"b",c:"d"}); `data` and `binaryData` stay apart; an absent source, an absent key and an empty
 * value all differ; metadata never enters. Without the key nobody can test guesses of a Secret's
 * value against the digest, which sits in plain sight on the pod template.
 */
import { asRecord, getPath } from './json.js';
import type { JsonRecord } from './json.js';
import { SOURCE_KIND_TABLE } from './kinds.js';
import type { SourceKind } from './kinds.js';
import { Encoder } from './encoder.js';
import { HmacSha256 } from './hmac.js';
import { sortCodeUnits } from './order.js';
import type { WireEncoding } from './encoder.js';
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

function section(object: unknown, field: string, wire: WireEncoding): Section {
  return { values: asRecord(getPath(object, [field])) ?? NO_VALUES, wire };
}

/** The kind's `data` as its table row says it is written, and its `binaryData` (none for a Secret). */
function readSections(kind: SourceKind, object: unknown): readonly [data: Section, binaryData: Section] {
  const row = SOURCE_KIND_TABLE[kind];
  return [section(object, 'data', row.dataEncoding), row.hasBinaryData ? section(object, 'binaryData', 'base64') : { values: NO_VALUES, wire: 'base64' }];
}

/** A key's value; a non-string value is malformed and reads as absent. */
function valueOf(section: Section, key: string): string | undefined {
  const value = Object.hasOwn(section.values, key) ? section.values[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function encodeWhole(enc: Encoder, section: Section): void {
  const keys: string[] = [];
  for (const key of Object.keys(section.values)) if (typeof section.values[key] === 'string') keys.push(key);
  sortCodeUnits(keys);
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

/** Writes a key selection (all keys, or these keys in code-unit order); returns the keys, undefined for all. */
export function writeSelection(enc: Encoder, keys: KeySelection): string[] | undefined {
  const selected = keys.all ? undefined : sortCodeUnits([...keys.keys]);
  if (selected === undefined) {
    enc.byte(0x41);
  } else {
    enc.byte(0x4b).u32(selected.length);
    for (const key of selected) enc.field(key);
  }
  return selected;
}

/** Writes the canonical bytes for one source into `enc`, after what it holds. */
function writeSource(enc: Encoder, id: SourceIdentity, keys: KeySelection, object: unknown | null): void {
  enc.field(FORMAT).field(id.kind).field(id.namespace).field(id.name);
  const selected = writeSelection(enc, keys);
  if (isAbsent(object)) {
    enc.byte(0);
    return;
  }
  enc.byte(1);
  const [data, binaryData] = readSections(id.kind, object);
  if (selected === undefined) {
    encodeWhole(enc, data);
    encodeWhole(enc, binaryData);
  } else {
    for (const key of selected) {
      encodeOptionalValue(enc, data, key);
      encodeOptionalValue(enc, binaryData, key);
    }
  }
}

/**
 * The canonical bytes for one source. `object` is the ConfigMap or Secret as the API returns it,
 * or null (or undefined) when it does not exist.
 */
export function encodeSource(id: SourceIdentity, keys: KeySelection, object: unknown | null): Buffer {
  const enc = new Encoder();
  writeSource(enc, id, keys, object);
  return enc.done();
}

/**
 * Full hex HMAC-SHA256 of the canonical encoding, written into `enc` (which it resets first) after
 * the key's inner pad, where `hmac` wants the message.
 */
function hmacHex(enc: Encoder, hmac: HmacSha256, id: SourceIdentity, keys: KeySelection, object: unknown | null): string {
  writeSource(enc.reset().bytes(hmac.innerPad), id, keys, object);
  return hmac.hexOfPadded(enc.done());
}

/**
 * Runs `use` with the key's HMAC and one encoding buffer for any number of sources, then wipes
 * both: the one holds the key, the other Secret values.
 */
function withHmac<T>(hashKey: Uint8Array, use: (enc: Encoder, hmac: HmacSha256) => T): T {
  const hmac = new HmacSha256(hashKey);
  const enc = new Encoder();
  try {
    return use(enc, hmac);
  } finally {
    enc.wipe();
    hmac.wipe();
  }
}

/** Full hex HMAC-SHA256 of the canonical encoding. */
export function digestSource(hashKey: Uint8Array, id: SourceIdentity, keys: KeySelection, object: unknown | null): string {
  return withHmac(hashKey, (enc, hmac) => hmacHex(enc, hmac, id, keys, object));
}

/** One source to digest: who it is, the keys consumed, and its object (null when absent). */
export interface DigestInput {
  readonly id: SourceIdentity;
  readonly keys: KeySelection;
  readonly object: unknown | null;
}

/** What the stamp records for each source, in order: a short keyed digest, or "absent". */
export function stampDigests(hashKey: Uint8Array, inputs: readonly DigestInput[]): string[] {
  return withHmac(hashKey, (enc, hmac) =>
    inputs.map(({ id, keys, object }) => (isAbsent(object) ? ABSENT : hmacHex(enc, hmac, id, keys, object).slice(0, SHORT_DIGEST_LENGTH))),
  );
}

/** What the stamp records for a source: a short keyed digest, or "absent". */
export function stampDigest(hashKey: Uint8Array, id: SourceIdentity, keys: KeySelection, object: unknown | null): string {
  return stampDigests(hashKey, [{ id, keys, object }])[0]!;
}
