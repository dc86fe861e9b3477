/**
 * HMAC-SHA256 (RFC 2104) for many short messages under one key, as the stamp needs: five or so
 * digests per decision. `createHmac` builds a native object per message and feeds it in several
 * calls, which costs more than hashing the bytes themselves; here the key's two pad blocks are
 * computed once, and each digest is two one-shot `crypto.hash` calls (Node 20.12 and later):
 *   inner = SHA-256(K ^ ipad || message),  HMAC = SHA-256(K ^ opad || inner).
 * The caller writes the message right after `innerPad` in its own buffer, so nothing is copied.
 * The result equals `createHmac('sha256', key)`; test/unit/core-hmac.test.ts checks it for random
 * keys (shorter and longer than a block) and messages.
 */
import { createHash, hash } from 'node:crypto';

const BLOCK = 64;
const SHA256_LENGTH = 32;

export class HmacSha256 {
  // Slices of Node's buffer pool (far cheaper than buffers of their own), every byte written
  // below; wipe() zeroes them.
  /** K ^ ipad: the first block of every inner hash's input. */
  readonly innerPad = Buffer.allocUnsafe(BLOCK);
  /** K ^ opad, followed by room for the inner hash: the whole outer hash's input. */
  private readonly outer = Buffer.allocUnsafe(BLOCK + SHA256_LENGTH);

  constructor(key: Uint8Array) {
    // A key longer than a block is hashed first; a shorter one is padded with zeros (RFC 2104).
    const k = key.length > BLOCK ? createHash('sha256').update(key).digest() : key;
    this.innerPad.fill(0x36);
    this.outer.fill(0x5c);
    for (let i = 0; i < k.length; i++) {
      this.innerPad[i] = k[i]! ^ 0x36;
      this.outer[i] = k[i]! ^ 0x5c;
    }
    if (k !== key) k.fill(0);
  }

  /**
   * Hex HMAC of the message that `padded` holds after its first block, which must be `innerPad`.
   * The inner hash passes through a 'binary' (latin1) string, one byte a character, which is
   * cheaper than a Buffer; it is a keyed value like the HMAC itself, which is published.
   */
  hexOfPadded(padded: Uint8Array): string {
    this.outer.write(hash('sha256', padded, 'binary'), BLOCK, SHA256_LENGTH, 'binary');
    return hash('sha256', this.outer, 'hex');
  }

  /** Zeroes the pads (they are the key, XOR a constant). */
  wipe(): void {
    this.innerPad.fill(0);
    this.outer.fill(0);
  }
}
