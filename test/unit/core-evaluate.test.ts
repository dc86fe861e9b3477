// The one evaluation pipeline (shared/core/evaluate.ts): the same workloads and sources run through
// the webhook's port (fresh reads of every source, webhook/reads.ts) and the watcher's (its cache
// of metadata and per-version digests, watcher/digest-cache.ts) give the same tracked sources and the
// same stamp, for every way a workload can ask to be tracked.
import t from 'tap';
import { ABSENT, DEFAULT_POLICY, Reloader, evaluateWorkload, trackWorkload, wantedSources } from '../../shared/core/index.js';
import type { JsonRecord, PolicyOptions, SourceKind } from '../../shared/core/index.js';
import { ClusterCache, sourceEntryOf } from '../../watcher/cache.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import { kubeSourceReader } from '../../webhook/reads.js';
import { configMap, hashKey, kindRow, namespace, podSpec, policy, secret, workload } from '../fixtures/index.js';
import { fakeKube } from '../support/fake-kube.js';

const KEY = hashKey(9);
const NS = 'shop';

function withMeta(object: JsonRecord, rv: string): JsonRecord {
  const metadata = object.metadata as JsonRecord;
  metadata.namespace = NS;
  metadata.resourceVersion = rv;
  return object;
}

const SOURCES: Record<string, JsonRecord> = {
  'ConfigMap/app-config': withMeta(configMap('app-config', { level: 'info', other: 'x' }), '11'),
  'ConfigMap/logging-v1': withMeta(configMap('logging-v1', { l: '1' }), '12'),
  'ConfigMap/logging-v2': withMeta(configMap('logging-v2', { l: '2' }), '13'),
  'ConfigMap/matched': withMeta(configMap('matched', { m: '1' }, undefined, { annotations: { [Reloader.match]: 'true' } }), '14'),
  'ConfigMap/ignored': withMeta(configMap('ignored', { i: '1' }, undefined, { annotations: { [Reloader.ignore]: 'true' } }), '15'),
  'Secret/db': withMeta(secret('db', { password: 'pw', user: 'u' }), '21'),
};

/** A KubeApi stand-in: GETs and metadata LISTs of SOURCES, in the namespace. */
const client = fakeKube({
  getOrNull: async (path: string) => {
    const m = /\/namespaces\/[^/]+\/(configmaps|secrets)\/([^/]+)$/.exec(path);
    return m ? (structuredClone(SOURCES[`${m[1] === 'secrets' ? 'Secret' : 'ConfigMap'}/${m[2]}`]) ?? null) : null;
  },
  request: async (_method: string, path: string) => {
    const kind = path.endsWith('/secrets') ? 'Secret' : 'ConfigMap';
    return {
      metadata: {},
      items: Object.entries(SOURCES)
        .filter(([id]) => id.startsWith(`${kind}/`))
        .map(([, o]) => ({ metadata: o.metadata })),
    };
  },
});

const consuming = podSpec({
  env: [
    { name: 'L', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'level' } } },
    { name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
  ],
  envFrom: [{ configMapRef: { name: 'matched' } }, { configMapRef: { name: 'ignored' } }, { configMapRef: { name: 'missing', optional: true } }],
});

const CASES: readonly { name: string; annotations: Record<string, string>; options?: Partial<PolicyOptions>; kind?: string }[] = [
  { name: 'auto', annotations: { 'configstamp.io/track': 'true' } },
  { name: "Reloader's auto on a StatefulSet", annotations: { [Reloader.auto]: 'true' }, kind: 'StatefulSet' },
  { name: 'typed auto, Secrets only', annotations: { [Reloader.secretAuto]: 'true' } },
  { name: 'a named list with a regex, on a CronJob', annotations: { [Reloader.configMapReload]: 'logging-v.*, app-config' }, kind: 'CronJob' },
  { name: 'search and match', annotations: { [Reloader.search]: 'true' } },
  { name: 'an exclude list', annotations: { [Reloader.auto]: 'true', [Reloader.excludeSecrets]: 'db' } },
  { name: 'track-all', annotations: {}, options: { trackAll: true } },
  { name: 'untracked', annotations: {} },
];

async function throughWatcher(kind: ReturnType<typeof kindRow>, object: unknown, options: PolicyOptions) {
  const cache = new ClusterCache();
  for (const [id, o] of Object.entries(SOURCES)) {
    const e = sourceEntryOf(o);
    cache.setSource(id.startsWith('Secret/') ? 'Secret' : 'ConfigMap', e.namespace, e.name, e);
  }
  const digests = new DigestCache(
    KEY,
    async (_ns, keys) => new Map(keys.map((k) => [`${k.kind}/${k.name}`, structuredClone(SOURCES[`${k.kind}/${k.name}`]) ?? null])),
  );
  const versions = (k: SourceKind, ns: string, name: string) => cache.source(k, ns, name)?.resourceVersion;
  return evaluateWorkload({ kind, object, namespace: namespace(NS), policy: options }, digests.port(NS, cache.catalog(NS), versions));
}

t.test('the webhook and the watcher evaluate every case alike', async (t) => {
  for (const c of CASES) {
    const kind = kindRow(c.kind ?? 'Deployment');
    const object = workload(kind.kind, { annotations: c.annotations, podSpec: structuredClone(consuming) });
    const options = policy(c.options);
    const admission = await evaluateWorkload(
      { kind, object, namespace: namespace(NS), policy: options },
      kubeSourceReader(client, { concurrency: 4, deadlineMs: 1000 })(NS, () => KEY),
    );
    const watcher = await throughWatcher(kind, object, options);
    t.same(watcher.plan, admission.plan, `${c.name}: the same plan`);
    t.same(watcher.tracked, admission.tracked, `${c.name}: the same tracked sources`);
    t.same(watcher.stamp, admission.stamp, `${c.name}: the same stamp`);
    if (c.name !== 'untracked') t.ok(admission.stamp.length > 0, `${c.name}: tracks something`);
  }
});

t.test('what each case tracks', async (t) => {
  const names = async (annotations: Record<string, string>, options: Partial<PolicyOptions> = {}) => {
    const object = workload('Deployment', { annotations, podSpec: structuredClone(consuming) });
    const ev = await throughWatcher(kindRow('Deployment'), object, policy(options));
    return ev.stamp.map((e) => `${e.kind}/${e.name}${e.digest === ABSENT ? ' absent' : ''}`);
  };
  t.same(
    await names({ 'configstamp.io/track': 'true' }),
    ['ConfigMap/app-config', 'ConfigMap/matched', 'ConfigMap/missing absent', 'Secret/db'],
    'the ignored source is left out, the missing one waited for',
  );
  t.same(await names({ [Reloader.configMapReload]: 'logging-v.*' }), ['ConfigMap/logging-v1', 'ConfigMap/logging-v2'], 'a regex matches names in the catalog');
  t.same(await names({ [Reloader.search]: 'true' }), ['ConfigMap/matched'], 'search keeps sources with match');
});

t.test('trackWorkload and wantedSources are the first steps of the same evaluation', async (t) => {
  const kind = kindRow('Deployment');
  const object = workload('Deployment', { annotations: { 'configstamp.io/track': 'true' }, podSpec: structuredClone(consuming) });
  const input = { kind, object, namespace: namespace(NS), policy: DEFAULT_POLICY };
  const ev = await throughWatcher(kind, object, DEFAULT_POLICY);
  const cache = new ClusterCache();
  for (const [id, o] of Object.entries(SOURCES)) {
    const e = sourceEntryOf(o);
    cache.setSource(id.startsWith('Secret/') ? 'Secret' : 'ConfigMap', e.namespace, e.name, e);
  }
  t.same(trackWorkload(input, cache.catalog(NS)), { plan: ev.plan, tracked: ev.tracked });
  t.same(wantedSources(input), ev.plan);
});
