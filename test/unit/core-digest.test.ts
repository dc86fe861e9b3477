// The keyed digest of one source: which differences change it and which must not, and (with
// fast-check) that the canonical encoding under it is unambiguous and independent of key order.
import t from 'tap';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { ABSENT, ALL_KEYS, SHORT_DIGEST_LENGTH, digestSource, encodeSource, stampDigest } from '../../shared/core/index.js';
import type { KeySelection, SourceIdentity, SourceKind } from '../../shared/core/index.js';
import { b64, configMap, hashKey, loadFixture, secret } from '../fixtures/index.js';
import { reloaderHash } from '../fixtures/reloader-hash.js';

const KEY = hashKey(1);
const CM: SourceIdentity = { kind: 'ConfigMap', namespace: 'shop', name: 'app-config' };
const SECRET: SourceIdentity = { kind: 'Secret', namespace: 'shop', name: 'db-credentials' };
const keys = (...k: string[]): KeySelection => ({ all: false, keys: new Set(k) });
const digest = (id: SourceIdentity, sel: KeySelection, object: unknown): string => digestSource(KEY, id, sel, object);

t.test('shape: full HMAC-SHA256 hex, short prefix in the stamp, "absent" for a missing source', async (t) => {
  const object = configMap('app-config', { a: '1' });
  const full = digest(CM, ALL_KEYS, object);
  t.match(full, /^[0-9a-f]{64}$/);
  t.equal(stampDigest(KEY, CM, ALL_KEYS, object), full.slice(0, SHORT_DIGEST_LENGTH));
  t.equal(SHORT_DIGEST_LENGTH, 16);
  t.equal(stampDigest(KEY, CM, ALL_KEYS, null), ABSENT);
  t.equal(stampDigest(KEY, CM, ALL_KEYS, undefined), ABSENT, 'undefined (a Map miss) is absent too, not an empty source');
  t.equal(
    full,
    createHmac('sha256', KEY)
      .update(encodeSource(CM, ALL_KEYS, object))
      .digest('hex'),
    'the HMAC of the encoding',
  );
});

t.test('the HMAC key matters: another cluster, another digest', async (t) => {
  const object = secret('db-credentials', { password: 'hunter2' });
  t.equal(digestSource(hashKey(1), SECRET, ALL_KEYS, object), digestSource(hashKey(1), SECRET, ALL_KEYS, structuredClone(object)));
  t.not(digestSource(hashKey(1), SECRET, ALL_KEYS, object), digestSource(hashKey(2), SECRET, ALL_KEYS, object));
  const flipped = hashKey(1);
  flipped[31] = flipped[31]! ^ 1;
  t.not(digestSource(hashKey(1), SECRET, ALL_KEYS, object), digestSource(flipped, SECRET, ALL_KEYS, object), 'one bit of the key');
});

t.test('absent source, absent key and empty value all differ', async (t) => {
  for (const sel of [keys('k'), ALL_KEYS]) {
    const absentSource = digest(CM, sel, null);
    const absentKey = digest(CM, sel, configMap('app-config', {}));
    const emptyValue = digest(CM, sel, configMap('app-config', { k: '' }));
    const noSections = digest(CM, sel, { kind: 'ConfigMap', metadata: { name: 'app-config' } });
    t.equal(new Set([absentSource, absentKey, emptyValue]).size, 3, `selection ${sel.all ? 'all' : 'k'}`);
    t.equal(noSections, absentKey, 'a source without data reads as one with empty data');
  }
  t.equal(digest(SECRET, keys('k'), null), digest(SECRET, keys('k'), undefined));
});

t.test('data and binaryData are kept apart', async (t) => {
  const inData = configMap('app-config', { k: 'v' });
  const inBinary = configMap('app-config', {}, { k: b64('v') });
  for (const sel of [keys('k'), ALL_KEYS]) t.not(digest(CM, sel, inData), digest(CM, sel, inBinary), sel.all ? 'all keys' : 'key k');
  t.not(digest(CM, ALL_KEYS, configMap('app-config', { a: 'x' }, { b: b64('y') })), digest(CM, ALL_KEYS, configMap('app-config', { a: 'x', b: 'y' })));
});

t.test("bytes, not spelling: a Secret's data is compared decoded, a ConfigMap's binaryData too", async (t) => {
  const s1 = secret('db-credentials', { password: 'pw' });
  const s2 = { ...secret('db-credentials'), data: { password: Buffer.from('pw').toString('base64') } };
  t.equal(digest(SECRET, ALL_KEYS, s1), digest(SECRET, ALL_KEYS, s2));
  t.not(digest(SECRET, ALL_KEYS, s1), digest(SECRET, ALL_KEYS, secret('db-credentials', { password: 'pw2' })));
  t.not(digest(CM, ALL_KEYS, configMap('app-config', {}, { f: b64('a') })), digest(CM, ALL_KEYS, configMap('app-config', {}, { f: b64('b') })));
  const withBinary = { ...secret('db-credentials', { password: 'pw' }), binaryData: { extra: b64('x') } };
  t.equal(digest(SECRET, ALL_KEYS, withBinary), digest(SECRET, ALL_KEYS, s1), 'a Secret has no binaryData: a stray field is not read');
});

t.test('metadata never counts', async (t) => {
  const a = configMap('app-config', { k: 'v' }, undefined, { labels: { a: '1' }, annotations: { x: 'y' } });
  const b = configMap('app-config', { k: 'v' }, undefined, { labels: { b: '2' } });
  (b.metadata as Record<string, unknown>).resourceVersion = '999999';
  (b.metadata as Record<string, unknown>).uid = 'another-uid';
  b.immutable = true;
  for (const sel of [keys('k'), ALL_KEYS]) t.equal(digest(CM, sel, a), digest(CM, sel, b));
});

t.test('only the consumed keys count', async (t) => {
  const base = configMap('app-config', { a: '1', b: '2' });
  const bChanged = configMap('app-config', { a: '1', b: '3' });
  const aChanged = configMap('app-config', { a: '9', b: '2' });
  const bRemoved = configMap('app-config', { a: '1' });
  const cAdded = configMap('app-config', { a: '1', b: '2', c: '3' });
  t.equal(digest(CM, keys('a'), base), digest(CM, keys('a'), bChanged), 'another key changed');
  t.equal(digest(CM, keys('a'), base), digest(CM, keys('a'), bRemoved), 'another key removed');
  t.equal(digest(CM, keys('a'), base), digest(CM, keys('a'), cAdded), 'another key added');
  t.not(digest(CM, keys('a'), base), digest(CM, keys('a'), aChanged), 'the consumed key changed');
  t.not(digest(CM, ALL_KEYS, base), digest(CM, ALL_KEYS, bChanged), 'every key is consumed');
  t.not(digest(CM, ALL_KEYS, base), digest(CM, ALL_KEYS, cAdded), 'a key added to a wholly consumed source');
  t.not(digest(CM, keys('a'), base), digest(CM, ALL_KEYS, base), 'the selection itself is part of the digest');
  t.not(digest(CM, keys('a'), base), digest(CM, keys('a', 'z'), base), 'consuming a missing key too');
});

t.test('key order does not count', async (t) => {
  const a = configMap('app-config', { a: '1', b: '2', c: '3' }, { x: b64('1'), y: b64('2') });
  const b = configMap('app-config', { c: '3', a: '1', b: '2' }, { y: b64('2'), x: b64('1') });
  t.equal(digest(CM, ALL_KEYS, a), digest(CM, ALL_KEYS, b));
  t.equal(digest(CM, keys('a', 'c'), a), digest(CM, keys('c', 'a'), b));
});

t.test('the identity counts: kind, namespace and name', async (t) => {
  const object = configMap('app-config', { k: 'v' });
  const all = new Set([
    digest(CM, ALL_KEYS, object),
    digest({ ...CM, namespace: 'other' }, ALL_KEYS, object),
    digest({ ...CM, name: 'other' }, ALL_KEYS, object),
    digest({ ...CM, kind: 'Secret' }, ALL_KEYS, { data: { k: b64('v') } }),
  ]);
  t.equal(all.size, 4);
});

t.test("Reloader's k=v; joining is ambiguous; the canonical encoding is not", async (t) => {
  const one = configMap('app-config', { a: 'b;c=d' });
  const two = configMap('app-config', { a: 'b', c: 'd' });
  t.equal(reloaderHash(one), reloaderHash(two), 'Reloader cannot tell them apart');
  t.not(digest(CM, ALL_KEYS, one), digest(CM, ALL_KEYS, two));
  const three = configMap('app-config', { 'a=b': 'c' });
  const four = configMap('app-config', { a: 'b=c' });
  t.equal(reloaderHash(three), reloaderHash(four));
  t.not(digest(CM, ALL_KEYS, three), digest(CM, ALL_KEYS, four));
});

t.test('non-string values are skipped as malformed, and never throw', async (t) => {
  const odd = { data: { k: 'v', n: 1, o: { x: 1 }, z: null } };
  t.equal(digest(CM, ALL_KEYS, odd), digest(CM, ALL_KEYS, { data: { k: 'v' } }));
  for (const object of [{}, { data: null }, { data: [] }, { data: 'x' }, 'string', 7, []]) {
    t.match(digest(CM, ALL_KEYS, object), /^[0-9a-f]{64}$/, JSON.stringify(object));
  }
});

/**
 * Expected bytes written out by hand: [n] is one byte, a number a u32 big-endian, a string or a
 * Buffer a length-prefixed field (the string as UTF-8).
 */
function bytesOf(...parts: (string | number | [byte: number] | Buffer)[]): string {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return Buffer.concat(
    parts.map((p) => {
      if (Array.isArray(p)) return Buffer.from(p);
      if (typeof p === 'number') return u32(p);
      const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      return Buffer.concat([u32(bytes.length), bytes]);
    }),
  ).toString('hex');
}

t.test('golden vectors: the encoding and the digests are pinned (an upgrade must restart nothing)', async (t) => {
  const F = 'configstamp.digest.v1';
  // Named keys: marker "K", key count, keys; present; per key: data (1 + value | 0), binaryData (0).
  t.equal(
    encodeSource({ kind: 'ConfigMap', namespace: 'ns', name: 'n' }, keys('k'), { data: { k: 'v' } }).toString('hex'),
    bytesOf(F, 'ConfigMap', 'ns', 'n', [0x4b], 1, 'k', [1], [1], 'v', [0]),
  );
  // Every key: marker "A"; present; data as count + (key, value)…; binaryData likewise.
  t.equal(
    encodeSource({ kind: 'Secret', namespace: 'ns', name: 'n' }, ALL_KEYS, { data: { k: b64('v') } }).toString('hex'),
    bytesOf(F, 'Secret', 'ns', 'n', [0x41], [1], 1, 'k', 'v', 0),
  );
  // Absent: the identity and selection, then 0.
  t.equal(
    encodeSource({ kind: 'Secret', namespace: 'ns', name: 'n' }, keys('b', 'a'), null).toString('hex'),
    bytesOf(F, 'Secret', 'ns', 'n', [0x4b], 2, 'a', 'b', [0]),
  );
  // Larger than any buffer the encoder starts with: the bytes are the same once it has grown.
  const big = 'é'.repeat(3000);
  const blob = Buffer.alloc(5000, 7);
  t.equal(
    encodeSource({ kind: 'ConfigMap', namespace: 'ns', name: 'n' }, ALL_KEYS, { data: { big }, binaryData: { blob: blob.toString('base64') } }).toString('hex'),
    bytesOf(F, 'ConfigMap', 'ns', 'n', [0x41], [1], 1, 'big', big, 1, 'blob', blob),
  );
  const cm = loadFixture('sources/configmap');
  const sec = loadFixture('sources/secret');
  t.equal(digestSource(hashKey(1), CM, ALL_KEYS, cm), '2d9fec469e5eb27a8206e9e5f762097d264432b65d98ac96c9d7e8a44c7202f1');
  t.equal(digestSource(hashKey(1), CM, keys('logo.png', 'LOG_LEVEL', 'missing'), cm), '3516d4cd4e0963b2eb492edc3f5ff2a9fc2065fc0ce3f5bb2eeb08a8644e64c8');
  t.equal(digestSource(hashKey(1), SECRET, ALL_KEYS, sec), 'cdd59f94bd9313e274653ea03f1004a106c56d0341ed1251af6f9ab085942287');
  t.equal(digestSource(hashKey(1), SECRET, keys('password'), null), '4980ee33eb7789652fad190b0c41c7aed15bf67fdc02ac3db4180e676dd5986f');
});

// ---- properties ------------------------------------------------------------------------------

/** A generated digest input: identity, selection and content (as bytes), before serialising. */
interface Input {
  readonly kind: SourceKind;
  readonly namespace: string;
  readonly name: string;
  readonly selection: readonly string[] | 'all';
  readonly content: null | { readonly data: readonly [string, Uint8Array | string][]; readonly binary: readonly [string, Uint8Array][] };
  readonly labels: Readonly<Record<string, string>>;
}

// Small alphabets so that two inputs often agree in most parts and differ in one; keys and values
// include the separators a naive encoding would confuse.
const keyArb = fc.constantFrom('a', 'b', 'ab', 'a;b', 'a=b', '=', ';', '', 'k.x');
const textArb = fc.string({ unit: fc.constantFrom('a', 'b', ';', '=', ',', 'é', '\u0000'), maxLength: 4 });
const bytesArb = fc.uint8Array({ maxLength: 4, max: 3 });
const uniqueEntries = <V>(value: fc.Arbitrary<V>): fc.Arbitrary<[string, V][]> =>
  fc.uniqueArray(fc.tuple(keyArb, value), { selector: ([k]) => k, maxLength: 4 });

const inputArb: fc.Arbitrary<Input> = fc
  .record({
    kind: fc.constantFrom<SourceKind>('ConfigMap', 'Secret'),
    namespace: fc.constantFrom('shop', 'sho', 'p'),
    name: fc.constantFrom('a', 'b', 'ab'),
    selection: fc.oneof(fc.constant('all' as const), fc.uniqueArray(keyArb, { maxLength: 3 })),
    content: fc.option(fc.record({ data: uniqueEntries(fc.oneof(textArb, bytesArb)), binary: uniqueEntries(bytesArb) }), { nil: null }),
    labels: fc.dictionary(fc.constantFrom('x', 'y'), fc.constantFrom('1', '2')),
  })
  .map((input) => {
    if (input.content === null) return input;
    const data = input.content.data.map(([k, v]): [string, Uint8Array | string] => [k, dataValue(input.kind, v)]);
    return { ...input, content: { data, binary: input.kind === 'Secret' ? [] : input.content.binary } };
  });

/** A Secret's data is bytes (and it has no binaryData); a ConfigMap's data is text. */
function dataValue(kind: SourceKind, v: Uint8Array | string): Uint8Array | string {
  if (kind === 'Secret') return typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'utf8')) : v;
  return typeof v === 'string' ? v : Buffer.from(v).toString('latin1');
}

function identity(input: Input): SourceIdentity {
  return { kind: input.kind, namespace: input.namespace, name: input.name };
}

function selection(input: Input): KeySelection {
  return input.selection === 'all' ? ALL_KEYS : { all: false, keys: new Set(input.selection) };
}

/** The object as the API would send it, with keys inserted in the order given. */
function toObject(input: Input, order: (n: number) => number[] = (n) => [...Array(n).keys()]): unknown {
  if (input.content === null) return null;
  const pick = <T>(list: readonly T[]): T[] => order(list.length).map((i) => list[i]!);
  const encodeValue = (v: Uint8Array | string): string => (typeof v === 'string' ? v : Buffer.from(v).toString('base64'));
  const object: Record<string, unknown> = {
    kind: input.kind,
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
    data: Object.fromEntries(pick(input.content.data).map(([k, v]) => [k, encodeValue(v)])),
  };
  if (input.kind === 'ConfigMap') object.binaryData = Object.fromEntries(pick(input.content.binary).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return object;
}

/** What the digest must depend on, and nothing else, written out plainly. */
function meaning(input: Input): string {
  // A ConfigMap's text counts as its UTF-8 bytes; bytes (Secret data, binaryData) as themselves.
  const hex = (v: Uint8Array | string): string => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v)).toString('hex');
  const sel = input.selection === 'all' ? '*' : [...input.selection].sort();
  if (input.content === null) return JSON.stringify([input.kind, input.namespace, input.name, sel, 'absent']);
  const data = new Map(input.content.data.map(([k, v]) => [k, hex(v)]));
  const binary = new Map(input.content.binary.map(([k, v]) => [k, hex(v)]));
  const sorted = (m: Map<string, string>): [string, string][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const consumed = sel === '*' ? [sorted(data), sorted(binary)] : sel.map((k) => [k, data.get(k) ?? null, binary.get(k) ?? null]);
  return JSON.stringify([input.kind, input.namespace, input.name, sel, consumed]);
}

const encode = (input: Input, order?: (n: number) => number[]): Buffer => encodeSource(identity(input), selection(input), toObject(input, order));

t.test('property: two inputs share an encoding exactly when they mean the same', async (t) => {
  let same = 0;
  // Two independent inputs rarely mean the same, so a fifth of the pairs are an input and itself
  // with other labels (metadata never enters the digest): equal meaning is always exercised.
  const pairArb = fc.oneof(
    { arbitrary: fc.tuple(inputArb, inputArb), weight: 4 },
    { arbitrary: inputArb.map((a): [Input, Input] => [a, { ...a, labels: { ...a.labels, x: a.labels.x === '1' ? '2' : '1' } }]), weight: 1 },
  );
  fc.assert(
    fc.property(pairArb, ([a, b]) => {
      const equalBytes = encode(a).equals(encode(b));
      if (meaning(a) === meaning(b)) same++;
      return equalBytes === (meaning(a) === meaning(b));
    }),
    { numRuns: 3000 },
  );
  t.ok(same > 0, `the generator produced equal-meaning pairs too (${same})`);
});

t.test('property: an input and a one-part change of it never share an encoding', async (t) => {
  const tweak = fc.tuple(inputArb, keyArb, fc.oneof(textArb, bytesArb), fc.constantFrom('data', 'binary', 'select', 'unselect', 'drop'));
  fc.assert(
    fc.property(tweak, ([input, key, value, where]) => {
      if (input.content === null) return true;
      const content = { data: [...input.content.data], binary: [...input.content.binary] };
      let changed: Input = input;
      if (where === 'data')
        changed = { ...input, content: { ...content, data: [...content.data.filter(([k]) => k !== key), [key, dataValue(input.kind, value)]] } };
      if (where === 'binary' && input.kind === 'ConfigMap')
        changed = {
          ...input,
          content: {
            ...content,
            binary: [...content.binary.filter(([k]) => k !== key), [key, typeof value === 'string' ? new Uint8Array(Buffer.from(value)) : value]],
          },
        };
      if (where === 'select' && input.selection !== 'all') changed = { ...input, selection: [...new Set([...input.selection, key])] };
      if (where === 'unselect') changed = { ...input, selection: input.selection === 'all' ? [key] : input.selection.filter((k) => k !== key) };
      if (where === 'drop') changed = { ...input, content: null };
      return encode(input).equals(encode(changed)) === (meaning(input) === meaning(changed));
    }),
    { numRuns: 3000 },
  );
  t.pass('each single change that matters changed the encoding, and only those');
});

t.test('property: shuffling key insertion order gives the same encoding', async (t) => {
  fc.assert(
    fc.property(inputArb, fc.func(fc.integer()), (input, rank) => {
      const shuffled = (n: number): number[] => [...Array(n).keys()].sort((x, y) => rank(x) - rank(y) || y - x);
      const selectionShuffled: Input = input.selection === 'all' ? input : { ...input, selection: [...input.selection].reverse() };
      return encode(input).equals(encode(selectionShuffled, shuffled));
    }),
    { numRuns: 2000 },
  );
  t.pass('insertion order never reached the encoding');
});

// Small-scope check: every input over a small universe (keys a, b, ab; values absent, "", "a", "b",
// "ab"; in data or binaryData; four selections; identities whose parts run into each other), so that
// the collisions a careless encoding allows (a key/value boundary moved, a value moved between
// sections, absent vs empty, a namespace/name boundary moved) are all actually tried.
t.test('exhaustive small universe: encodings collide exactly when meanings do', async (t) => {
  const universeKeys = ['a', 'b', 'ab'];
  const values = [undefined, '', 'a', 'b', 'ab'];
  const selections: Input['selection'][] = ['all', [], ['a'], ['a', 'ab']];
  const assignments: [string, string][][] = [[]];
  for (const key of universeKeys) {
    const next: [string, string][][] = [];
    for (const partial of assignments) for (const v of values) next.push(v === undefined ? partial : [...partial, [key, v]]);
    assignments.splice(0, assignments.length, ...next);
  }
  const bytes = (entries: [string, string][]): [string, Uint8Array][] => entries.map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]);
  const inputs: Input[] = [];
  const identities = [
    ['ConfigMap', 'a', 'bb'],
    ['ConfigMap', 'ab', 'b'],
    ['Secret', 'a', 'bb'],
    ['Secret', 'ab', 'b'],
  ] as const;
  for (const [kind, ns, name] of identities) {
    for (const selection of selections) {
      inputs.push({ kind, namespace: ns, name, selection, content: null, labels: {} });
      if (ns !== 'a') continue; // content varies under one identity per kind; identities vary above
      for (const data of assignments) {
        if (kind === 'Secret') {
          inputs.push({ kind, namespace: ns, name, selection, content: { data: bytes(data), binary: [] }, labels: {} });
          continue;
        }
        for (const binary of assignments) inputs.push({ kind, namespace: ns, name, selection, content: { data, binary: bytes(binary) }, labels: {} });
      }
    }
  }
  const byEncoding = new Map<string, string>();
  const byMeaning = new Map<string, string>();
  let failures = 0;
  for (const input of inputs) {
    const enc = encode(input).toString('hex');
    const m = meaning(input);
    if ((byEncoding.get(enc) ?? m) !== m || (byMeaning.get(m) ?? enc) !== enc) failures++;
    byEncoding.set(enc, m);
    byMeaning.set(m, enc);
  }
  t.ok(inputs.length > 60000, `${inputs.length} inputs tried`);
  t.equal(failures, 0, 'no two inputs that mean different things share an encoding, and no meaning has two');
});
