// Which sources, and which of their keys, a pod template consumes: one row per way Kubernetes lets
// a pod reference a ConfigMap or a Secret (Reloader's common_test.go tables, fixtures cloned per use).
import t from 'tap';
import { ALL_KEYS, extractReferences, mergeSelections, sourceId } from '../../shared/core/index.js';
import type { JsonRecord, KeySelection, SourceRef } from '../../shared/core/index.js';
import { loadFixture, podSpec } from '../fixtures/index.js';

/** "ConfigMap/name *" for every key, "Secret/name [a,b]" for named keys, "?" when optional. */
function show(ref: SourceRef): string {
  const keys = ref.keys.all ? '*' : `[${[...ref.keys.keys].sort().join(',')}]`;
  return `${sourceId(ref.kind, ref.name)} ${keys}${ref.optional ? ' ?' : ''}`;
}

function refsOf(spec: unknown): string[] {
  return extractReferences({ metadata: {}, spec }).map(show);
}

interface Case {
  readonly name: string;
  readonly spec: JsonRecord;
  readonly want: readonly string[];
}

const volume = (v: JsonRecord): JsonRecord => podSpec({}, { volumes: [{ name: 'v', ...v }] });

const cases: readonly Case[] = [
  // volumes
  { name: 'configMap volume without items consumes every key', spec: volume({ configMap: { name: 'cm' } }), want: ['ConfigMap/cm *'] },
  {
    name: 'configMap volume with items consumes the listed keys',
    spec: volume({
      configMap: {
        name: 'cm',
        items: [
          { key: 'a', path: 'a' },
          { key: 'b', path: 'x/b' },
        ],
      },
    }),
    want: ['ConfigMap/cm [a,b]'],
  },
  {
    name: 'configMap volume with empty items consumes every key (kubelet projects all)',
    spec: volume({ configMap: { name: 'cm', items: [] } }),
    want: ['ConfigMap/cm *'],
  },
  { name: 'secret volume is named by secretName, every key', spec: volume({ secret: { secretName: 's' } }), want: ['Secret/s *'] },
  { name: 'secret volume with items', spec: volume({ secret: { secretName: 's', items: [{ key: 'tls.crt', path: 'crt' }] } }), want: ['Secret/s [tls.crt]'] },
  { name: 'secret volume named by name (the projected field) is not a secret volume', spec: volume({ secret: { name: 's' } }), want: [] },
  { name: 'optional configMap volume', spec: volume({ configMap: { name: 'cm', optional: true } }), want: ['ConfigMap/cm * ?'] },
  { name: 'optional secret volume', spec: volume({ secret: { secretName: 's', optional: true } }), want: ['Secret/s * ?'] },
  { name: 'optional must be the boolean true', spec: volume({ configMap: { name: 'cm', optional: 'true' } }), want: ['ConfigMap/cm *'] },
  // projected
  {
    name: 'projected configMap and secret with items',
    spec: volume({
      projected: {
        sources: [
          { configMap: { name: 'cm', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { secret: { name: 's', items: [{ key: 'token', path: 'token' }], optional: true } },
        ],
      },
    }),
    want: ['ConfigMap/cm [ca.crt]', 'Secret/s [token] ?'],
  },
  {
    name: 'projected sources without items consume every key; other projections are ignored',
    spec: volume({
      projected: {
        sources: [
          { configMap: { name: 'cm' } },
          { secret: { name: 's' } },
          { serviceAccountToken: { path: 't' } },
          { downwardAPI: { items: [{ path: 'l', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          { clusterTrustBundle: { name: 'b', path: 'b' } },
        ],
      },
    }),
    want: ['ConfigMap/cm *', 'Secret/s *'],
  },
  { name: 'projected secret named by secretName is not read', spec: volume({ projected: { sources: [{ secret: { secretName: 's' } }] } }), want: [] },
  // env and envFrom
  {
    name: 'env configMapKeyRef consumes one key',
    spec: podSpec({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } }] }),
    want: ['ConfigMap/cm [a]'],
  },
  {
    name: 'env secretKeyRef consumes one key',
    spec: podSpec({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } }] }),
    want: ['Secret/s [password]'],
  },
  {
    name: 'optional env key refs',
    spec: podSpec({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: true } } }] }),
    want: ['Secret/s [k] ?'],
  },
  {
    name: 'env values and fieldRefs reference nothing',
    spec: podSpec({
      env: [
        { name: 'A', value: 'x' },
        { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'C', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      ],
    }),
    want: [],
  },
  { name: 'envFrom configMapRef consumes every key', spec: podSpec({ envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'X_' }] }), want: ['ConfigMap/cm *'] },
  { name: 'envFrom secretRef consumes every key', spec: podSpec({ envFrom: [{ secretRef: { name: 's', optional: true } }] }), want: ['Secret/s * ?'] },
  // container lists
  {
    name: 'initContainers count',
    spec: { initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'init-s' } }] }], containers: [{ name: 'c' }] },
    want: ['Secret/init-s *'],
  },
  {
    name: 'ephemeralContainers count',
    spec: {
      containers: [{ name: 'c' }],
      ephemeralContainers: [{ name: 'd', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'dbg', key: 'x' } } }] }],
    },
    want: ['ConfigMap/dbg [x]'],
  },
  // duplicates
  {
    name: 'duplicates: key sets union',
    spec: podSpec(
      {
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } },
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm', key: 'b' } } },
          { name: 'A2', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } },
        ],
      },
      { volumes: [{ name: 'v', configMap: { name: 'cm', items: [{ key: 'c', path: 'c' }] } }] },
    ),
    want: ['ConfigMap/cm [a,b,c]'],
  },
  {
    name: 'duplicates: every key wins over named keys, in either order',
    spec: {
      containers: [
        { name: 'one', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'a' } } }], envFrom: [{ secretRef: { name: 's' } }] },
        { name: 'two', envFrom: [{ configMapRef: { name: 'cm' } }], env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } }] },
      ],
    },
    want: ['ConfigMap/cm *', 'Secret/s *'],
  },
  {
    name: 'duplicates: required wins over optional; optional only when every reference is',
    spec: {
      containers: [
        {
          name: 'c',
          env: [
            { name: 'A', valueFrom: { configMapKeyRef: { name: 'mixed', key: 'a', optional: true } } },
            { name: 'B', valueFrom: { configMapKeyRef: { name: 'both-optional', key: 'b', optional: true } } },
          ],
          envFrom: [{ configMapRef: { name: 'both-optional', optional: true } }],
        },
      ],
      initContainers: [{ name: 'i', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'mixed', key: 'a' } } }] }],
    },
    want: ['ConfigMap/both-optional * ?', 'ConfigMap/mixed [a]'],
  },
  {
    name: 'a ConfigMap and a Secret of the same name are two sources',
    spec: podSpec({ envFrom: [{ configMapRef: { name: 'same' } }, { secretRef: { name: 'same' } }] }),
    want: ['ConfigMap/same *', 'Secret/same *'],
  },
  // malformed input is skipped, never thrown on
  {
    name: 'malformed entries are skipped',
    spec: {
      volumes: [
        null,
        'v',
        7,
        { name: 'no-name', configMap: {} },
        { name: 'empty', configMap: { name: '' } },
        { name: 'num', secret: { secretName: 42 } },
        {
          name: 'p',
          projected: { sources: [null, { configMap: null }, { configMap: { name: 'proj-ok', items: [{ key: 'k' }, { path: 'no-key' }, null, { key: 3 }] } }] },
        },
        { name: 'p2', projected: { sources: 'nope' } },
        { name: 'arr', configMap: ['x'] },
      ],
      containers: [
        null,
        'c',
        {
          name: 'c',
          env: [
            null,
            { name: 'A' },
            { name: 'B', valueFrom: null },
            { name: 'C', valueFrom: { configMapKeyRef: { name: 'no-key' } } },
            { name: 'D', valueFrom: { secretKeyRef: { key: 'k' } } },
            { name: 'E', valueFrom: { secretKeyRef: { name: 'ok', key: 'k' } } },
          ],
          envFrom: [null, 'x', {}, { configMapRef: null }, { secretRef: { name: null } }, { configMapRef: { name: 'ef-ok' } }],
        },
      ],
      initContainers: 'not a list',
      ephemeralContainers: { name: 'not a list' },
    },
    want: ['ConfigMap/ef-ok *', 'ConfigMap/proj-ok [k]', 'Secret/ok [k]'],
  },
  {
    name: 'names no Kubernetes object can have are skipped',
    spec: podSpec({
      envFrom: [
        { configMapRef: { name: 'Upper' } },
        { configMapRef: { name: 'under_score' } },
        { secretRef: { name: '-dash' } },
        { secretRef: { name: 'ok.name-1' } },
      ],
    }),
    want: ['Secret/ok.name-1 *'],
  },
];

t.test('reference sources, one row each', async (t) => {
  for (const c of cases) {
    t.strictSame(refsOf(c.spec), c.want, c.name);
  }
});

t.test('every source type at once (fixture), sorted by kind then name', async (t) => {
  const spec = loadFixture('pod-specs/every-source');
  t.strictSame(refsOf(spec), [
    'ConfigMap/app-config *',
    'ConfigMap/ca-bundle [ca.crt]',
    'ConfigMap/debug-env * ?',
    'ConfigMap/env-defaults *',
    'ConfigMap/feature-flags [flags]',
    'Secret/api-token [token]',
    'Secret/db-credentials *',
    'Secret/smtp [password] ?',
    'Secret/tls-cert [tls.crt,tls.key]',
  ]);
});

t.test('the fixture is cloned per use', async (t) => {
  const first = loadFixture<{ containers: unknown[] }>('pod-specs/every-source');
  first.containers.length = 0;
  const second = loadFixture<{ containers: unknown[] }>('pod-specs/every-source');
  t.equal(second.containers.length, 1);
});

t.test('templates without a spec, or not objects at all, reference nothing', async (t) => {
  for (const template of [undefined, null, 'x', 3, [], {}, { spec: null }, { spec: [] }, { spec: { containers: {} } }]) {
    t.strictSame(extractReferences(template), [], JSON.stringify(template) ?? 'undefined');
  }
});

t.test('mergeSelections', async (t) => {
  const keys = (...k: string[]): KeySelection => ({ all: false, keys: new Set(k) });
  t.equal(mergeSelections(ALL_KEYS, keys('a')), ALL_KEYS);
  t.equal(mergeSelections(keys('a'), ALL_KEYS), ALL_KEYS);
  const merged = mergeSelections(keys('a', 'b'), keys('b', 'c'));
  t.equal(merged.all, false);
  t.strictSame(merged.all ? [] : [...merged.keys].sort(), ['a', 'b', 'c']);
  t.ok(Object.isFrozen(ALL_KEYS), 'the shared ALL_KEYS cannot be mutated');
});
