/**
 * Byte-level writer for the digest's canonical encoding (digest.ts): length-prefixed fields into
 * one growing buffer, with no intermediate Buffer per value. Short ASCII text and short canonical
 * base64 are written by a plain loop, which beats a native call at that size; anything else goes
 * through Buffer's own encoder, so the bytes are Buffer's in every case. They are pinned by the
 * golden vectors in test/unit/core-digest.test.ts. A dropped buffer is wiped, and so is the one
 * in use when its owner calls wipe().
 */

/** How a field's text travels: as its UTF-8 bytes, or as the bytes its base64 decodes to. */
export type WireEncoding = 'utf8' | 'base64';

/** Fields up to this long go through the JS loops (measured faster than a native call at 50-70 characters). */
const SHORT_FIELD = 128;

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Each ASCII code's base64 value, -1 where it is not in the alphabet. A constant table. */
const SEXTETS: Readonly<Int8Array> = Int8Array.from({ length: 128 }, (_, code) => BASE64_ALPHABET.indexOf(String.fromCharCode(code)));
const PAD = 0x3d; // '='

/** Writes ASCII text byte for byte; -1 (nothing meaningful written) at the first other character. */
function writeAscii(buf: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return -1;
    buf[at + i] = code;
  }
  return text.length;
}

/** The base64 value of the character at `i`, -1 when it is not in the alphabet. */
function sextetAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 0x80 ? SEXTETS[code]! : -1;
}

/**
 * Decodes canonical base64 (the alphabet only, length a multiple of 4, at most two `=` at the end),
 * as Buffer does, four characters to three bytes; -1 for anything else, which Buffer's lenient
 * decoder then handles.
 */
function writeCanonicalBase64(buf: Buffer, at: number, text: string): number {
  const length = text.length;
  if (length % 4 !== 0) return -1;
  const padding = length === 0 || text.charCodeAt(length - 1) !== PAD ? 0 : text.charCodeAt(length - 2) === PAD ? 2 : 1;
  let n = at;
  for (let i = 0; i < length; i += 4) {
    const last = i + 4 === length;
    const c = last && padding === 2 ? 0 : sextetAt(text, i + 2);
    const d = last && padding > 0 ? 0 : sextetAt(text, i + 3);
    const bits = (sextetAt(text, i) << 18) | (sextetAt(text, i + 1) << 12) | (c << 6) | d;
    if (bits < 0) return -1; // some sextet was -1
    buf[n++] = bits >>> 16;
    if (!last || padding < 2) buf[n++] = bits >>> 8;
    if (!last || padding < 1) buf[n++] = bits;
  }
  return n - at;
}

export class Encoder {
  /** A zeroed slice of Node's buffer pool: far cheaper than a buffer of its own, wiped likewise. */
  private buf = Buffer.allocUnsafe(1024).fill(0);
  private len = 0;
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf.fill(0);
    this.buf = next;
  }
  private putU32(n: number, at: number): void {
    this.buf[at] = n >>> 24;
    this.buf[at + 1] = n >>> 16;
    this.buf[at + 2] = n >>> 8;
    this.buf[at + 3] = n;
  }
  u32(n: number): this {
    this.reserve(4);
    this.putU32(n, this.len);
    this.len += 4;
    return this;
  }
  byte(n: number): this {
    this.reserve(1);
    this.buf[this.len++] = n;
    return this;
  }
  /** Raw bytes, as they are (no length prefix). */
  bytes(block: Uint8Array): this {
    this.reserve(block.length);
    this.buf.set(block, this.len);
    this.len += block.length;
    return this;
  }
  /**
   * A length-prefixed field: text as its UTF-8 bytes, or base64 text as the bytes it decodes to
   * (at most Buffer.byteLength(…, 'base64') of them, exactly as Buffer.from decodes it).
   */
  field(text: string, wire: WireEncoding = 'utf8'): this {
    const at = this.len + 4;
    let n = -1;
    if (text.length <= SHORT_FIELD) {
      this.reserve(4 + text.length);
      n = wire === 'utf8' ? writeAscii(this.buf, at, text) : writeCanonicalBase64(this.buf, at, text);
    }
    if (n < 0) {
      const room = wire === 'utf8' ? text.length * 3 : Buffer.byteLength(text, 'base64');
      this.reserve(4 + room);
      n = this.buf.write(text, at, room, wire);
    }
    this.putU32(n, this.len);
    this.len = at + n;
    return this;
  }
  /** The bytes so far; valid until the next write, reset() or wipe(). */
  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
  /** Starts a new encoding in the same buffer. */
  reset(): this {
    this.len = 0;
    return this;
  }
  /** Zeroes the buffer (it may hold a Secret's values) and empties it. */
  wipe(): void {
    this.buf.fill(0);
    this.len = 0;
  }
}
