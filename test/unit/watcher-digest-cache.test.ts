/**
 * DigestCache (watcher/digest-cache.ts): digests cached per source version and key selection; a
 * stamp reads only the sources whose current version was never digested.
 */
import t from 'tap';
import { ABSENT, ALL_KEYS, stampDigest } from '../../shared/core/index.js';
import type { Stamp, TrackedSource } from '../../shared/core/index.js';
import { stampOf } from '../../shared/core/evaluate.js';
import { DigestCache, selectionId } from '../../watcher/digest-cache.js';
import type { VersionLookup } from '../../watcher/digest-cache.js';

/** The stamp the core composes from these digests (shared/core/evaluate.ts stampOf). */
async function stampVia(d: DigestCache, ns: string, tracked: readonly TrackedSource[], versions?: VersionLookup): Promise<Stamp> {
  return stampOf(tracked, await d.digestsOf(ns, tracked, versions));
}

const KEY = new Uint8Array(32).fill(3);
const cfg: TrackedSource = { kind: 'ConfigMap', name: 'cfg', keys: ALL_KEYS, optional: false };
const cfgKeyA: TrackedSource = { kind: 'ConfigMap', name: 'cfg', keys: { all: false, keys: new Set(['a']) }, optional: false };
const db: TrackedSource = { kind: 'Secret', name: 'db', keys: ALL_KEYS, optional: false };

function setup(objects: Record<string, { metadata: { resourceVersion: string }; data: Record<string, string> }>) {
  const reads: string[][] = [];
  const digests = new DigestCache(KEY, async (_ns, keys) => {
    reads.push(keys.map((k) => `${k.kind}/${k.name}`));
    return new Map(keys.map((k) => [`${k.kind}/${k.name}`, objects[`${k.kind}/${k.name}`] ?? null]));
  });
  const versions: VersionLookup = (kind, _ns, name) => objects[`${kind}/${name}`]?.metadata.resourceVersion;
  return { digests, reads, versions };
}

t.test('known(): absent, never digested, digested for another selection or version, and a hit', async (t) => {
  const objects = { 'ConfigMap/cfg': { metadata: { resourceVersion: '5' }, data: { a: '1', b: '2' } } };
  const { digests, versions } = setup(objects);
  t.equal(digests.known('ns', db, versions), ABSENT, 'no version: the source does not exist');
  t.equal(digests.known('ns', cfg, versions), undefined, 'never digested');
  digests.remember('ConfigMap', 'ns', 'cfg', '5', selectionId(cfg.keys), 'aaaaaaaaaaaaaaaa');
  t.equal(digests.known('ns', cfg, versions), 'aaaaaaaaaaaaaaaa');
  t.equal(digests.known('ns', cfgKeyA, versions), undefined, 'another key selection of the same version');
  t.equal(digests.known('other', cfg, versions), undefined, 'the same name in another namespace');
  objects['ConfigMap/cfg'].metadata.resourceVersion = '6';
  t.equal(digests.known('ns', cfg, versions), undefined, 'a newer version');
});

t.test('remember(): several key selections of one version kept apart; a new version replaces them all', async (t) => {
  const objects = { 'ConfigMap/cfg': { metadata: { resourceVersion: '5' }, data: { a: '1', b: '2' } } };
  const { digests, versions } = setup(objects);
  const cfgKeyB: TrackedSource = { ...cfgKeyA, keys: { all: false, keys: new Set(['b']) } };
  digests.remember('ConfigMap', 'ns', 'cfg', '5', selectionId(cfg.keys), '1111111111111111');
  digests.remember('ConfigMap', 'ns', 'cfg', '5', selectionId(cfgKeyA.keys), '2222222222222222');
  digests.remember('ConfigMap', 'ns', 'cfg', '5', selectionId(cfgKeyB.keys), '3333333333333333');
  digests.remember('ConfigMap', 'ns', 'cfg', '5', selectionId(cfgKeyA.keys), '4444444444444444');
  t.same(
    [cfg, cfgKeyA, cfgKeyB].map((s) => digests.known('ns', s, versions)),
    ['1111111111111111', '4444444444444444', '3333333333333333'],
    'each selection its own digest, the last one remembered winning',
  );
  digests.remember('ConfigMap', 'ns', 'cfg', '6', selectionId(cfgKeyB.keys), '5555555555555555');
  objects['ConfigMap/cfg'].metadata.resourceVersion = '6';
  t.same(
    [cfg, cfgKeyA, cfgKeyB].map((s) => digests.known('ns', s, versions)),
    [undefined, undefined, '5555555555555555'],
    'the new version knows only what was digested of it',
  );
  t.equal(digests.size, 1, 'one entry per source');
});

t.test('selectionId: one name per selection, whatever characters a consumed key holds', async (t) => {
  // A pod may name keys no ConfigMap can have ("*", or one with a NUL in it, through a volume's
  // items): each must still be its own selection, or one consumer's digest answers for another's.
  const selections = [
    ALL_KEYS,
    { all: false, keys: new Set(['*']) },
    { all: false, keys: new Set(['a', 'b']) },
    { all: false, keys: new Set(['a\u0000b']) },
  ] as const;
  const ids = selections.map((keys) => selectionId(keys));
  t.equal(new Set(ids).size, ids.length, `distinct: ${JSON.stringify(ids)}`);
  t.equal(selectionId({ all: false, keys: new Set(['b', 'a']) }), ids[2], 'the order keys are named in does not matter');
  const objects = { 'ConfigMap/cfg': { metadata: { resourceVersion: '5' }, data: { a: '1' } } };
  const { digests, versions } = setup(objects);
  selections.forEach((keys, i) => digests.remember('ConfigMap', 'ns', 'cfg', '5', selectionId(keys), String(i).repeat(16)));
  t.same(
    selections.map((keys) => digests.known('ns', { kind: 'ConfigMap', name: 'cfg', keys, optional: false }, versions)),
    selections.map((_, i) => String(i).repeat(16)),
    'each selection answers with its own digest',
  );
});

t.test('digestsOf(): reads only what is not known, remembers it, and agrees with digests from data', async (t) => {
  const objects = {
    'ConfigMap/cfg': { metadata: { resourceVersion: '5' }, data: { a: '1', b: '2' } },
    'Secret/db': { metadata: { resourceVersion: '9' }, data: { p: Buffer.from('pw').toString('base64') } },
  };
  const { digests, reads, versions } = setup(objects);
  const expected = (s: TrackedSource): string =>
    stampDigest(KEY, { kind: s.kind, namespace: 'ns', name: s.name }, s.keys, objects[`${s.kind}/${s.name}` as keyof typeof objects]);
  const first = await stampVia(digests, 'ns', [cfgKeyA, db], versions);
  t.same(reads, [['ConfigMap/cfg', 'Secret/db']]);
  t.same(first, [
    { kind: 'ConfigMap', name: 'cfg', digest: expected(cfgKeyA) },
    { kind: 'Secret', name: 'db', digest: expected(db) },
  ]);
  t.same(await stampVia(digests, 'ns', [cfgKeyA, db], versions), first, 'the same stamp again');
  t.equal(reads.length, 1, 'with no read');
  objects['Secret/db'].metadata.resourceVersion = '10';
  objects['Secret/db'].data.p = Buffer.from('new').toString('base64');
  const second = await stampVia(digests, 'ns', [cfgKeyA, db], versions);
  t.same(reads[1], ['Secret/db'], 'only the source whose version moved is read');
  t.equal(second[0]!.digest, first[0]!.digest);
  t.equal(second[1]!.digest, expected(db));
  t.not(second[1]!.digest, first[1]!.digest);
  await stampVia(digests, 'ns', [cfgKeyA], undefined);
  t.same(reads[2], ['ConfigMap/cfg'], 'without versions every source is read afresh');
  t.equal(digests.reads, 4);
});

t.test('the port reports the version each digest is of: the cached one, or the one just read', async (t) => {
  const objects = {
    'ConfigMap/cfg': { metadata: { resourceVersion: '5' }, data: { a: '1' } },
    'Secret/db': { metadata: { resourceVersion: '9' }, data: {} },
  };
  const { digests, versions } = setup(objects);
  const catalog = { get: () => undefined, names: () => [] };
  const cached = digests.port('ns', catalog, versions);
  await cached.digests([cfg, db]);
  t.same(cached.versions!([cfg, db]), ['5', '9'], 'read, then reported at what was read');
  // The cache says 6 now but holds no digest for it: the read answers 7, and 7 is what was digested.
  objects['ConfigMap/cfg'].metadata.resourceVersion = '7';
  const lagging = digests.port('ns', catalog, (kind, ns, name) => (kind === 'ConfigMap' ? '6' : versions(kind, ns, name)));
  await lagging.digests([cfg, db]);
  t.same(lagging.versions!([cfg, db]), ['7', '9'], 'the version read, not the one the cache expected');
  const fresh = digests.port('ns', catalog);
  await fresh.digests([cfg, { ...db, name: 'gone' }]);
  t.same(fresh.versions!([cfg, { ...db, name: 'gone' }]), ['7', undefined], 'fresh reads; an absent source has none');
});
