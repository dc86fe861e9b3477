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

/** Byte-level writer for the canonical encoding. */
class Encoder {
  private readonly parts: Buffer[] = [];
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
    return this;
  }
  byte(n: number): this {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  field(bytes: Buffer | string): this {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    return this.u32(b.length).raw(b);
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The two sections of a source, as bytes. A Secret's `data` is base64 on the wire. */
interface Sections {
  readonly data: ReadonlyMap<string, Buffer>;
  readonly binaryData: ReadonlyMap<string, Buffer>;
}

function readSection(object: unknown, field: string, base64: boolean): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const record = asRecord(getPath(object, [field]));
  if (record === undefined) return out;
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string') continue;
    out.set(key, base64 ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8'));
  }
  return out;
}

function readSections(kind: SourceKind, object: unknown): Sections {
  return kind === 'Secret'
    ? { data: readSection(object, 'data', true), binaryData: new Map() }
    : { data: readSection(object, 'data', false), binaryData: readSection(object, 'binaryData', true) };
}

function sortedKeys(map: ReadonlyMap<string, unknown> | ReadonlySet<string>): string[] {
  return [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function encodeWhole(enc: Encoder, section: ReadonlyMap<string, Buffer>): void {
  const keys = sortedKeys(section);
  enc.u32(keys.length);
  for (const key of keys) enc.field(key).field(section.get(key)!);
}

function encodeOptionalValue(enc: Encoder, value: Buffer | undefined): void {
  if (value === undefined) enc.byte(0);
  else enc.byte(1).field(value);
}

/**
 * The canonical bytes for one source. `object` is the ConfigMap or Secret as the API returns it,
 * or null when it does not exist.
 */
export function encodeSource(id: SourceIdentity, keys: KeySelection, object: unknown | null): Buffer {
  const enc = new Encoder().field(FORMAT).field(id.kind).field(id.namespace).field(id.name);
  if (keys.all) {
    enc.byte(0x41);
  } else {
    const selected = sortedKeys(keys.keys);
    enc.byte(0x4b).u32(selected.length);
    for (const key of selected) enc.field(key);
  }
  if (object === null) return enc.byte(0).done();
  enc.byte(1);
  const sections = readSections(id.kind, object);
  if (keys.all) {
    encodeWhole(enc, sections.data);
    encodeWhole(enc, sections.binaryData);
  } else {
    for (const key of sortedKeys(keys.keys)) {
      encodeOptionalValue(enc, sections.data.get(key));
      encodeOptionalValue(enc, sections.binaryData.get(key));
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
  return object === null ? ABSENT : digestSource(hashKey, id, keys, object).slice(0, SHORT_DIGEST_LENGTH);
}
