// The defensive JSON readers every core module relies on, and the annotation value readers.
import t from 'tap';
import { Ours, Reloader, SELECTING_KEYS, asArray, asRecord, asString, asStringMap, getPath, jsonEqual, readBool, readList } from '../../shared/core/index.js';

t.test('asRecord, asArray, asString read the wrong type as absent', async (t) => {
  t.strictSame(asRecord({ a: 1 }), { a: 1 });
  for (const v of [null, undefined, [], 'x', 1, true]) t.equal(asRecord(v), undefined, JSON.stringify(v) ?? 'undefined');
  t.strictSame(asArray([1]), [1]);
  for (const v of [null, undefined, {}, 'x']) t.strictSame(asArray(v), []);
  t.equal(asString('x'), 'x');
  t.equal(asString(''), '');
  for (const v of [null, 1, {}, ['x']]) t.equal(asString(v), undefined);
});

t.test('getPath', async (t) => {
  const doc = { a: { b: { c: 1 }, arr: [{ x: 1 }] }, n: null };
  t.equal(getPath(doc, ['a', 'b', 'c']), 1);
  t.equal(getPath(doc, []), doc);
  t.equal(getPath(doc, ['a', 'missing', 'c']), undefined);
  t.equal(getPath(doc, ['n', 'x']), undefined);
  t.equal(getPath(doc, ['a', 'arr', '0']), undefined, 'arrays are not walked');
  t.equal(getPath(doc, ['a', 'b', 'c', 'd']), undefined, 'a number has no fields');
  t.equal(getPath({}, ['constructor']), undefined, 'inherited properties are not fields');
  t.equal(getPath({}, ['__proto__']), undefined);
  t.equal(getPath(null, ['a']), undefined);
});

t.test('asStringMap keeps string values only', async (t) => {
  t.strictSame(asStringMap({ a: 'x', b: 1, c: null, d: { e: 'f' }, g: '' }), { a: 'x', g: '' });
  for (const v of [null, undefined, 'x', ['a']]) t.strictSame(asStringMap(v), {});
});

t.test('jsonEqual: structural, key order free, arrays ordered', async (t) => {
  const rows: [unknown, unknown, boolean][] = [
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    [[1, 2], [2, 1], false],
    [[1, 2], [1, 2, 3], false],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [{ a: 1, b: 2 }, { a: 1, c: 2 }, false],
    [[], {}, false],
    [{}, [], false],
    [null, {}, false],
    [null, null, true],
    ['1', 1, false],
    [{ a: { b: null } }, { a: { b: null } }, true],
    [{ a: { b: null } }, { a: { b: 0 } }, false],
  ];
  for (const [a, b, equal] of rows) {
    t.equal(jsonEqual(a, b), equal, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    t.equal(jsonEqual(b, a), equal, 'symmetric');
  }
});

t.test('readBool and readList', async (t) => {
  const bools: [string | undefined, boolean | undefined][] = [
    ['true', true],
    ['TRUE', true],
    [' True ', true],
    ['false', false],
    ['False', false],
    [undefined, undefined],
    ['', undefined],
    ['yes', undefined],
    ['1', undefined],
    ['t', undefined],
  ];
  for (const [v, want] of bools) t.equal(readBool(v), want, String(v));
  t.strictSame(readList(undefined), []);
  t.strictSame(readList(''), []);
  t.strictSame(readList(' a , b,,c ,'), ['a', 'b', 'c']);
});

t.test("annotation keys: ours under configstamp.io, Reloader's as Reloader spells them", async (t) => {
  for (const key of Object.values(Ours)) t.match(key, /^configstamp\.io\/[a-z-]+$/);
  t.strictSame(Reloader, {
    auto: 'reloader.stakater.com/auto',
    configMapAuto: 'configmap.reloader.stakater.com/auto',
    secretAuto: 'secret.reloader.stakater.com/auto',
    configMapReload: 'configmap.reloader.stakater.com/reload',
    secretReload: 'secret.reloader.stakater.com/reload',
    search: 'reloader.stakater.com/search',
    match: 'reloader.stakater.com/match',
    ignore: 'reloader.stakater.com/ignore',
    excludeConfigMaps: 'configmaps.exclude.reloader.stakater.com/reload',
    excludeSecrets: 'secrets.exclude.reloader.stakater.com/reload',
    secretProviderClassAuto: 'secretproviderclass.reloader.stakater.com/auto',
    secretProviderClassReload: 'secretproviderclass.reloader.stakater.com/reload',
    excludeSecretProviderClasses: 'secretproviderclasses.exclude.reloader.stakater.com/reload',
    rolloutStrategy: 'reloader.stakater.com/rollout-strategy',
    pausePeriod: 'deployment.reloader.stakater.com/pause-period',
    pausedAt: 'deployment.reloader.stakater.com/paused-at',
    restartWindow: 'reloader.stakater.com/restart-window',
  });
  t.strictSame(
    [...SELECTING_KEYS].sort(),
    [
      Ours.track,
      Ours.configMaps,
      Ours.secrets,
      Ours.secretProviderClasses,
      Reloader.auto,
      Reloader.configMapAuto,
      Reloader.secretAuto,
      Reloader.secretProviderClassAuto,
      Reloader.configMapReload,
      Reloader.secretReload,
      Reloader.secretProviderClassReload,
      Reloader.search,
    ].sort(),
    "exclude, ignore and match never decide where the workload's keys are read",
  );
});
