// HMAC-SHA256 from precomputed pads (shared/core/hmac.ts) equals node:crypto's createHmac: for
// random keys shorter than, as long as and longer than a block, and random messages.
import t from 'tap';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { HmacSha256 } from '../../shared/core/hmac.js';

/** The message after the key's inner pad, as digest.ts writes it. */
function padded(hmac: HmacSha256, message: Uint8Array): Buffer {
  return Buffer.concat([hmac.innerPad, message]);
}

t.test('property: equals createHmac for random keys and messages', async (t) => {
  const key = fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 60, maxLength: 200 }));
  fc.assert(
    fc.property(key, fc.uint8Array({ maxLength: 300 }), (key, message) => {
      const hmac = new HmacSha256(key);
      return hmac.hexOfPadded(padded(hmac, message)) === createHmac('sha256', key).update(message).digest('hex');
    }),
    { numRuns: 2000 },
  );
  t.pass('every pair agreed');
});

t.test('block-sized edges: keys of 0, 63, 64 and 65 bytes, messages around a block', async (t) => {
  for (const keyLength of [0, 1, 32, 63, 64, 65, 128]) {
    const key = Buffer.alloc(keyLength, 0xa5);
    const hmac = new HmacSha256(key);
    for (const messageLength of [0, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const message = Buffer.alloc(messageLength, 0x3c);
      t.equal(hmac.hexOfPadded(padded(hmac, message)), createHmac('sha256', key).update(message).digest('hex'), `key ${keyLength}, message ${messageLength}`);
    }
  }
});

t.test('one HmacSha256 serves many messages; the key it was given is left as it was', async (t) => {
  const key = Buffer.from('a key longer than one SHA-256 block, which HMAC hashes before use: 0123456789');
  const copy = Buffer.from(key);
  const hmac = new HmacSha256(key);
  const first = hmac.hexOfPadded(padded(hmac, Buffer.from('one')));
  hmac.hexOfPadded(padded(hmac, Buffer.from('two')));
  t.equal(hmac.hexOfPadded(padded(hmac, Buffer.from('one'))), first, 'no state carried over');
  t.same(key, copy);
});

t.test('wipe() zeroes the pads', async (t) => {
  const hmac = new HmacSha256(Buffer.alloc(32, 7));
  hmac.wipe();
  t.ok(hmac.innerPad.every((b) => b === 0));
});
