// The stamp annotation: its format, that it reads back what was written, and that anything else
// (hand edits, truncation, a future version) reads as "no stamp" without ever throwing.
import t from 'tap';
import fc from 'fast-check';
import { STAMP_VERSION, formatStamp, makeStamp, parseStamp, stampIndex, stampsEqual } from '../../shared/core/index.js';
import type { Stamp, StampEntry } from '../../shared/core/index.js';

const D1 = '3f9a0c1d2e4b5a67';
const D2 = '0123456789abcdef';

const entry = (kind: StampEntry['kind'], name: string, digest: string): StampEntry => ({ kind, name, digest });

t.test('format: versioned, sorted by kind then name, lower-case kind tokens', async (t) => {
  const stamp = makeStamp([entry('Secret', 'db', 'absent'), entry('ConfigMap', 'b', D2), entry('ConfigMap', 'a.b-c', D1)]);
  t.equal(formatStamp(stamp), `v1:configmap/a.b-c=${D1},configmap/b=${D2},secret/db=absent`);
  t.equal(STAMP_VERSION, 'v1');
  t.equal(formatStamp([]), 'v1:');
  t.equal(
    formatStamp([entry('Secret', 'z', D1), entry('ConfigMap', 'z', D2)]),
    `v1:configmap/z=${D2},secret/z=${D1}`,
    'formatStamp sorts even an unsorted stamp',
  );
});

t.test('makeStamp: one entry per source, the last digest wins, entries copied', async (t) => {
  const input = entry('ConfigMap', 'a', D1);
  const stamp = makeStamp([input, entry('ConfigMap', 'a', D2), entry('Secret', 'a', D1)]);
  t.strictSame(stamp, [entry('ConfigMap', 'a', D2), entry('Secret', 'a', D1)]);
  t.not(stamp[0], input);
});

t.test('parse reads back what format wrote', async (t) => {
  const stamp = makeStamp([entry('ConfigMap', 'app-config', D1), entry('Secret', 'db-credentials', 'absent')]);
  t.strictSame(parseStamp(formatStamp(stamp)), stamp);
  t.strictSame(parseStamp('v1:'), [], 'an empty stamp is a stamp');
  t.strictSame(parseStamp(`v1:secret/b=${D1},configmap/a=${D2}`), [entry('ConfigMap', 'a', D2), entry('Secret', 'b', D1)], 'entries in any order are sorted');
});

const garbage: readonly [string, unknown][] = [
  ['not a string', 42],
  ['null', null],
  ['undefined', undefined],
  ['an object', { v1: 'configmap/a=absent' }],
  ['empty', ''],
  ['no version', `configmap/a=${D1}`],
  ['another version', `v2:configmap/a=${D1}`],
  ['upper-case version', `V1:configmap/a=${D1}`],
  ['version without colon', `v1configmap/a=${D1}`],
  ['truncated digest', `v1:configmap/a=${D1.slice(0, 15)}`],
  ['digest too long', `v1:configmap/a=${D1}0`],
  ['upper-case digest', `v1:configmap/a=${D1.toUpperCase()}`],
  ['truncated mid-name', 'v1:configmap/app-con'],
  ['truncated after kind', 'v1:configmap'],
  ['trailing comma', `v1:configmap/a=${D1},`],
  ['leading comma', `v1:,configmap/a=${D1}`],
  ['duplicate source', `v1:configmap/a=${D1},configmap/a=${D2}`],
  ['duplicate with the same digest', `v1:configmap/a=${D1},configmap/a=${D1}`],
  ['unknown kind token', `v1:pod/a=${D1}`],
  ['kind as the API spells it', `v1:ConfigMap/a=${D1}`],
  ['kind token inherited by every object', `v1:constructor/a=${D1}`],
  ['another inherited name as kind', 'v1:toString/a=absent'],
  ['empty name', `v1:configmap/=${D1}`],
  ['upper-case name', `v1:configmap/App=${D1}`],
  ['name with a slash', `v1:configmap/a/b=${D1}`],
  ['name with a space', `v1:configmap/a b=${D1}`],
  ['missing digest', 'v1:configmap/a='],
  ['missing equals', `v1:configmap/a${D1}`],
  ['equals before the slash', `v1:configmap=a/${D1}`],
  ['absent misspelt', 'v1:configmap/a=Absent'],
  ['separator other than comma', `v1:configmap/a=${D1};secret/b=${D2}`],
  ['whitespace around entries', `v1: configmap/a=${D1}`],
  ['absurdly long', `v1:${Array.from({ length: 5000 }, (_, i) => `configmap/name-${i}=${D1}`).join(',')}`],
];

t.test('garbage, truncated, duplicate or wrong-version input reads as no stamp', async (t) => {
  for (const [name, value] of garbage) {
    t.equal(parseStamp(value), null, name);
  }
});

t.test('a stamp near the size cap still parses', async (t) => {
  const stamp = makeStamp(Array.from({ length: 2000 }, (_, i) => entry('ConfigMap', `name-${i}`, D1)));
  const text = formatStamp(stamp);
  t.ok(text.length < 128 * 1024);
  t.equal(parseStamp(text)?.length, 2000);
});

t.test('stampsEqual and stampIndex', async (t) => {
  const a = makeStamp([entry('ConfigMap', 'a', D1), entry('Secret', 'b', 'absent')]);
  t.equal(stampsEqual(a, [...a].reverse()), true, 'order does not matter');
  t.equal(stampsEqual(a, makeStamp([entry('ConfigMap', 'a', D2), entry('Secret', 'b', 'absent')])), false, 'a digest does');
  t.equal(stampsEqual(a, a.slice(0, 1)), false, 'a missing entry does');
  t.equal(stampsEqual([], []), true);
  t.strictSame(
    [...stampIndex(a)],
    [
      ['ConfigMap/a', D1],
      ['Secret/b', 'absent'],
    ],
  );
});

// Arbitraries for real stamps: valid names (DNS subdomains), short hex digests or "absent".
const nameArb = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?$/);
const digestArb = fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), fc.constant('absent'));
const entryArb = fc.record({ kind: fc.constantFrom('ConfigMap' as const, 'Secret' as const), name: nameArb, digest: digestArb });
const stampArb: fc.Arbitrary<Stamp> = fc.array(entryArb, { maxLength: 12 }).map((entries) => makeStamp(entries));

t.test('property: parseStamp never throws, on any string', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
      const parsed = parseStamp(s);
      return parsed === null || Array.isArray(parsed);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.anything(), (v) => {
      parseStamp(v);
    }),
    { numRuns: 500 },
  );
  t.pass('no input threw');
});

t.test('property: parseStamp never throws on near-stamps (stamp alphabet)', async (t) => {
  const nearStamp = fc.string({ unit: fc.constantFrom(...'v1:configmapsecret/=,absent0123456789abcdef.-'.split('')), maxLength: 120 });
  fc.assert(
    fc.property(nearStamp, (s) => {
      const parsed = parseStamp(`v1:${s}`);
      // Whatever parses is a well-formed stamp that formats back to something that parses alike.
      return parsed === null || JSON.stringify(parseStamp(formatStamp(parsed))) === JSON.stringify(parsed);
    }),
    { numRuns: 2000 },
  );
  t.pass('no near-stamp threw; whatever parsed was well-formed');
});

t.test('property: generated stamps round-trip', async (t) => {
  fc.assert(
    fc.property(stampArb, (stamp) => {
      const text = formatStamp(stamp);
      const parsed = parseStamp(text);
      return parsed !== null && formatStamp(parsed) === text && JSON.stringify(parsed) === JSON.stringify(stamp);
    }),
    { numRuns: 1000 },
  );
  t.pass('every generated stamp read back as written');
});

t.test('property: every proper prefix of a stamp parses to null or to a stamp that formats to that prefix', async (t) => {
  fc.assert(
    fc.property(
      stampArb.filter((s) => s.length > 0),
      fc.nat(),
      (stamp, cut) => {
        const text = formatStamp(stamp);
        const prefix = text.slice(0, cut % text.length);
        const parsed = parseStamp(prefix);
        return parsed === null || formatStamp(parsed) === prefix;
      },
    ),
    { numRuns: 1000 },
  );
  t.pass('a truncated stamp reads as no stamp, or as exactly the entries its text still holds');
});
