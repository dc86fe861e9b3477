/**
 * The boot warm-up against a fake API: which namespaces are listed, that each page's tracked
 * sources land in the digest cache with the digests a GET would give, and that a failed list
 * only costs the requests it meant to save.
 */
import t from 'tap';
import { DEFAULT_POLICY } from '../../shared/core/policy.js';
import { workloadKindByName } from '../../shared/core/kinds.js';
import { ALL_KEYS } from '../../shared/core/references.js';
import { stampDigest } from '../../shared/core/digest.js';
import type { RequestOptions } from '../../shared/kube/client.js';
import { KubeApiError } from '../../shared/kube/client.js';
import { createLogger } from '../../shared/log.js';
import { ClusterCache, workloadKey } from '../../watcher/cache.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import type { VersionLookup } from '../../watcher/digest-cache.js';
import { stampOf } from '../../shared/core/evaluate.js';
import type { TrackedSource } from '../../shared/core/policy.js';
import type { Stamp } from '../../shared/core/stamp.js';
import { warmDigests } from '../../watcher/warmup.js';
import { formatStamp } from '../../shared/core/stamp.js';
import { SourceTable } from '../../shared/core/source-table.js';
import { versionsText } from '../../shared/core/versions.js';
import type { KeySelection } from '../../shared/core/references.js';
import type { WarmupOptions } from '../../watcher/warmup.js';
import { fakeKube } from '../support/fake-kube.js';

/** The stamp the core composes from these digests (shared/core/evaluate.ts stampOf). */
async function stampVia(d: DigestCache, ns: string, tracked: readonly TrackedSource[], versions?: VersionLookup): Promise<Stamp> {
  return stampOf(tracked, await d.digestsOf(ns, tracked, versions));
}

const KIND = workloadKindByName('Deployment')!;
const KEY = new Uint8Array(32).fill(3);
const OPTIONS: WarmupOptions = { minTracked: 3, minShare: 0.5, pageSize: 2, concurrency: 2 };

const configMap = (ns: string, name: string) => ({
  metadata: { name, namespace: ns, resourceVersion: `rv-${name}` },
  data: { a: `value of ${name}`, b: 'other' },
});

/** A namespace with `tracked` workloads, each consuming its own ConfigMap (key `a` only), plus `extra` untracked ConfigMaps. */
function scene(cache: ClusterCache, ns: string, tracked: number, extra = 0) {
  const objects: unknown[] = [];
  for (let i = 0; i < tracked + extra; i++) {
    const name = `cm-${i}`;
    objects.push(configMap(ns, name));
    cache.setSource('ConfigMap', ns, name, { resourceVersion: `rv-${name}`, labels: {}, annotations: {} });
    if (i >= tracked) continue;
    const object = {
      metadata: { name: `app-${i}`, namespace: ns, annotations: { 'configstamp.io/track': 'true' } },
      spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name, key: 'a' } } }] }] } } },
    };
    cache.setWorkload({ key: workloadKey(KIND, ns, `app-${i}`), kind: KIND, namespace: ns, name: `app-${i}`, object });
  }
  return objects;
}

function fakeClient(byPath: Map<string, unknown[]>, fail = new Set<string>()) {
  const calls: { path: string; query: Record<string, unknown> }[] = [];
  const client = fakeKube({
    async request(_method: string, path: string, options: RequestOptions = {}) {
      calls.push({ path, query: { ...options.query } });
      if (fail.has(path)) throw new KubeApiError(403, 'Forbidden', 'configmaps is forbidden');
      const all = byPath.get(path) ?? [];
      const start = Number(options.query?.continue ?? 0);
      const limit = Number(options.query?.limit);
      const next = start + limit < all.length ? String(start + limit) : undefined;
      return { items: all.slice(start, start + limit), metadata: { continue: next } };
    },
  });
  return { client, calls };
}

const noFetch = async (): Promise<Map<string, unknown>> => {
  throw new Error('no GET expected');
};

t.test('lists the namespaces where tracked sources are many, and digests them as a GET would', async (t) => {
  const cache = new ClusterCache();
  const big = scene(cache, 'big', 5, 1);
  const small = scene(cache, 'small', 2);
  const { client, calls } = fakeClient(
    new Map([
      ['/api/v1/namespaces/big/configmaps', big],
      ['/api/v1/namespaces/small/configmaps', small],
    ]),
  );
  let reads = 0;
  const digests = new DigestCache(KEY, async (_ns, keys) => {
    reads += keys.length;
    return new Map(keys.map((k) => [`${k.kind}/${k.name}`, configMap('small', k.name)]));
  });
  const result = await warmDigests(client, cache, digests, KEY, DEFAULT_POLICY, createLogger('silent', 'test'), OPTIONS);
  t.same(
    result,
    { lists: 3, digested: 5, failedLists: 0, seeded: 0, trustedRecords: 0, untrustedRecords: 0 },
    '6 ConfigMaps in pages of 2; the 5 tracked ones digested',
  );
  t.same(new Set(calls.map((c) => c.path)), new Set(['/api/v1/namespaces/big/configmaps']), 'only 2 tracked in "small": left to GETs');
  t.same(
    calls.map((c) => c.query.continue),
    [undefined, '2', '4'],
    'follows continue tokens',
  );
  t.equal(digests.size, 5);

  const stamp = await stampVia(
    digests,
    'big',
    [{ kind: 'ConfigMap', name: 'cm-3', keys: { all: false, keys: new Set(['a']) }, optional: false }],
    (_kind, _ns, name) => `rv-${name}`,
  );
  const expected = stampDigest(KEY, { kind: 'ConfigMap', namespace: 'big', name: 'cm-3' }, { all: false, keys: new Set(['a']) }, configMap('big', 'cm-3'));
  t.same(stamp, [{ kind: 'ConfigMap', name: 'cm-3', digest: expected }], 'the cached digest is the one a fresh read gives');
  t.equal(reads, 0, 'no GET for a warmed source');
  t.not(expected, stampDigest(KEY, { kind: 'ConfigMap', namespace: 'big', name: 'cm-3' }, ALL_KEYS, configMap('big', 'cm-3')), 'the key selection matters');
});

t.test('a namespace mostly of untracked sources is not listed (big unrelated payloads stay unread)', async (t) => {
  const cache = new ClusterCache();
  const objects = scene(cache, 'mixed', 3, 10);
  const { client, calls } = fakeClient(new Map([['/api/v1/namespaces/mixed/configmaps', objects]]));
  const result = await warmDigests(client, cache, new DigestCache(KEY, noFetch), KEY, DEFAULT_POLICY, createLogger('silent', 'test'), OPTIONS);
  t.same(result, { lists: 0, digested: 0, failedLists: 0, seeded: 0, trustedRecords: 0, untrustedRecords: 0 });
  t.equal(calls.length, 0);
});

t.test('Secrets are listed without Helm release Secrets; a failed list is logged and skipped', async (t) => {
  const cache = new ClusterCache();
  for (let i = 0; i < 4; i++) {
    cache.setSource('Secret', 'ns', `s-${i}`, { resourceVersion: '1', labels: {}, annotations: {} });
    cache.setWorkload({
      key: workloadKey(KIND, 'ns', `w-${i}`),
      kind: KIND,
      namespace: 'ns',
      name: `w-${i}`,
      object: {
        metadata: { name: `w-${i}`, namespace: 'ns', annotations: { 'configstamp.io/track': 'true' } },
        spec: { template: { spec: { containers: [{ name: 'c', envFrom: [{ secretRef: { name: `s-${i}` } }] }] } } },
      },
    });
  }
  scene(cache, 'denied', 4);
  const { client, calls } = fakeClient(new Map(), new Set(['/api/v1/namespaces/denied/configmaps']));
  const lines: string[] = [];
  const log = createLogger('warn', 'test', { write: (line: string) => void lines.push(line) });
  const result = await warmDigests(client, cache, new DigestCache(KEY, noFetch), KEY, DEFAULT_POLICY, log, OPTIONS);
  t.same(result, { lists: 1, digested: 0, failedLists: 1, seeded: 0, trustedRecords: 0, untrustedRecords: 0 });
  t.equal(calls.find((c) => c.path === '/api/v1/namespaces/ns/secrets')?.query.fieldSelector, 'type!=helm.sh/release.v1');
  t.match(lines.join(''), /warm-up list failed/);
});

const KEY_A: KeySelection = { all: false, keys: new Set(['a']) };

/**
 * Records on each of `scene`'s workloads in `ns` what a writer holding `key` writes when it stamps
 * them (a template stamp of cm-i's digest for key `a`, and the sealed versions beside it).
 */
function stampScene(cache: ClusterCache, ns: string, count: number, key: Uint8Array = KEY, sealNamespace = ns): void {
  for (let i = 0; i < count; i++) {
    const w = cache.workload(workloadKey(KIND, ns, `app-${i}`))!;
    const name = `cm-${i}`;
    const stamp = [{ kind: 'ConfigMap' as const, name, digest: stampDigest(key, { kind: 'ConfigMap', namespace: ns, name }, KEY_A, configMap(ns, name)) }];
    const versions = new SourceTable<string>();
    versions.set('ConfigMap', name, `rv-${name}`);
    const object = w.object as { metadata: { annotations: Record<string, string> }; spec: { template: { metadata?: unknown } } };
    object.spec.template.metadata = { annotations: { 'configstamp.io/stamp': formatStamp(stamp) } };
    object.metadata.annotations['configstamp.io/source-versions'] = versionsText(stamp, versions, {
      hashKey: key,
      namespace: sealNamespace,
      keysOf: (kind, n) => (kind === 'ConfigMap' && n === name ? KEY_A : undefined),
    })!;
  }
}

const annotationsOf = (cache: ClusterCache, ns: string, i: number) =>
  (cache.workload(workloadKey(KIND, ns, `app-${i}`))!.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations;

t.test('sealed records seed the digests of sources still at their versions: nothing listed, nothing read', async (t) => {
  const cache = new ClusterCache();
  const objects = scene(cache, 'big', 6);
  stampScene(cache, 'big', 6);
  t.match(annotationsOf(cache, 'big', 0)['configstamp.io/source-versions'], /^v2:[0-9a-f]{32}:configmap\/cm-0=rv-cm-0$/);
  // cm-5 was written while the watcher was down: its record vouches for a version it is no longer at.
  cache.setSource('ConfigMap', 'big', 'cm-5', { resourceVersion: 'rv-new', labels: {}, annotations: {} });
  const { client, calls } = fakeClient(new Map([['/api/v1/namespaces/big/configmaps', objects]]));
  const digests = new DigestCache(KEY, noFetch);
  const result = await warmDigests(client, cache, digests, KEY, DEFAULT_POLICY, createLogger('silent', 'test'), OPTIONS);
  t.same(result, { lists: 0, digested: 0, failedLists: 0, seeded: 5, trustedRecords: 6, untrustedRecords: 0 }, 'five seeded; the one left is too few to list');
  t.same(calls, [], 'no list');
  const tracked = (i: number): TrackedSource[] => [{ kind: 'ConfigMap', name: `cm-${i}`, keys: KEY_A, optional: false }];
  const listed: VersionLookup = (kind, ns, name) => cache.source(kind, ns, name)?.resourceVersion;
  const expected = stampDigest(KEY, { kind: 'ConfigMap', namespace: 'big', name: 'cm-2' }, KEY_A, configMap('big', 'cm-2'));
  t.same(
    await stampVia(digests, 'big', tracked(2), listed),
    [{ kind: 'ConfigMap', name: 'cm-2', digest: expected }],
    'the seeded digest is the one a read gives',
  );
  t.equal(digests.known('big', tracked(5)[0]!, listed), undefined, 'the changed source is not known: it will be read');
});

t.test('a record that does not check is not trusted: another key, an edit, another namespace, other keys consumed, or no seal', async (t) => {
  const OTHER_KEY = new Uint8Array(32).fill(9);
  const cases: [string, (cache: ClusterCache) => void][] = [
    ['written under another key (lost or rotated)', (cache) => stampScene(cache, 'ns', 5, OTHER_KEY)],
    ['sealed for another namespace (a copied manifest)', (cache) => stampScene(cache, 'ns', 5, KEY, 'elsewhere')],
    [
      'the template stamp edited',
      (cache) => {
        stampScene(cache, 'ns', 5);
        for (let i = 0; i < 5; i++) {
          const w = cache.workload(workloadKey(KIND, 'ns', `app-${i}`))!.object as {
            spec: { template: { metadata: { annotations: Record<string, string> } } };
          };
          w.spec.template.metadata.annotations['configstamp.io/stamp'] = `v1:configmap/cm-${i}=0123456789abcdef`;
        }
      },
    ],
    [
      'the version edited',
      (cache) => {
        stampScene(cache, 'ns', 5);
        for (let i = 0; i < 5; i++) {
          const a = annotationsOf(cache, 'ns', i);
          a['configstamp.io/source-versions'] = a['configstamp.io/source-versions']!.replace(/=rv-cm-\d+$/, '=rv-other');
          cache.setSource('ConfigMap', 'ns', `cm-${i}`, { resourceVersion: 'rv-other', labels: {}, annotations: {} });
        }
      },
    ],
    [
      'the workload consumes other keys now',
      (cache) => {
        stampScene(cache, 'ns', 5);
        for (let i = 0; i < 5; i++) {
          const w = cache.workload(workloadKey(KIND, 'ns', `app-${i}`))!.object as { spec: { template: { spec: { containers: { env: unknown[] }[] } } } };
          w.spec.template.spec.containers[0]!.env.push({ name: 'B', valueFrom: { configMapKeyRef: { name: `cm-${i}`, key: 'b' } } });
        }
      },
    ],
    [
      'a v1 record (written before sealing)',
      (cache) => {
        stampScene(cache, 'ns', 5);
        for (let i = 0; i < 5; i++) annotationsOf(cache, 'ns', i)['configstamp.io/source-versions'] = `v1:configmap/cm-${i}=rv-cm-${i}`;
      },
    ],
  ];
  for (const [name, arrange] of cases) {
    const cache = new ClusterCache();
    const objects = scene(cache, 'ns', 5);
    arrange(cache);
    const { client, calls } = fakeClient(new Map([['/api/v1/namespaces/ns/configmaps', objects]]));
    const digests = new DigestCache(KEY, noFetch);
    const result = await warmDigests(client, cache, digests, KEY, DEFAULT_POLICY, createLogger('silent', 'test'), OPTIONS);
    t.same([result.seeded, result.trustedRecords, result.untrustedRecords], [0, 0, 5], `${name}: nothing seeded`);
    t.equal(calls.length > 0 && result.digested, 5, `${name}: the sources are listed and digested as before`);
  }
});
