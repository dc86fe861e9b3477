// The admission handler with its I/O faked at the KubeApi boundary: what it patches for each
// plan (stamp, restore, skip), how it fails open, that it reads nothing for untracked objects,
// and that one failure is one log line, one metric and one warning, none carrying a Secret value.
import t from 'tap';
import { Writable } from 'node:stream';
import { ALL_KEYS, DEFAULT_POLICY, extractReferences, formatStamp, parseStamp, sealOf, sourceId } from '../../shared/core/index.js';
import type { PolicyOptions } from '../../shared/core/index.js';
import type { KubeApi } from '../../shared/kube/client.js';
import { createLogger } from '../../shared/log.js';
import { admit } from '../../webhook/admit.js';
import type { AdmitDeps } from '../../webhook/admit.js';
import type { AdmissionRequest } from '../../webhook/decode.js';
import { createWebhookMetrics } from '../../webhook/metrics.js';
import { kubeSourceReader } from '../../webhook/reads.js';
import { createAdmissionHandler } from '../../webhook/handler.js';
import { configMap, currentStamp, podSpec, secret, templateOf, workload } from '../fixtures/index.js';
import { fakeKube } from '../support/fake-kube.js';

const KEY = Buffer.alloc(32, 7);
const CANARY = 'canary-s3cr3t-value';

interface FakeApi {
  client: KubeApi;
  calls: string[];
}

/** A KubeApi stand-in answering GETs and metadata lists from a map of objects by name. */
function fakeApi(objects: Record<string, unknown>, behaviour: { fail?: boolean; hang?: boolean } = {}): FakeApi {
  const calls: string[] = [];
  const find = (path: string): unknown => {
    const m = /\/namespaces\/([^/]+)\/(configmaps|secrets)\/([^/]+)$/.exec(path);
    return m ? (objects[`${m[2] === 'secrets' ? 'Secret' : 'ConfigMap'}/${m[3]}`] ?? null) : null;
  };
  const answer = async (path: string, signal?: AbortSignal): Promise<unknown> => {
    calls.push(path);
    if (behaviour.fail) throw new Error('HTTP 403: secrets "db" is forbidden');
    if (behaviour.hang) await new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    return find(path);
  };
  const client = fakeKube({
    getOrNull: (path: string, options?: { signal?: AbortSignal }) => answer(path, options?.signal),
    request: async (_method: string, path: string, options?: { signal?: AbortSignal }) => {
      await answer(path, options?.signal);
      const kind = path.endsWith('/secrets') ? 'Secret' : 'ConfigMap';
      const items = Object.entries(objects)
        .filter(([id]) => id.startsWith(`${kind}/`))
        .map(([, o]) => ({ metadata: (o as { metadata: unknown }).metadata }));
      return { items, metadata: {} };
    },
  });
  return { client, calls };
}

function deps(
  api: FakeApi,
  options: { key?: Uint8Array | undefined; policy?: PolicyOptions; deadlineMs?: number; nsLabels?: Record<string, string> } = {},
): AdmitDeps {
  const policy = options.policy ?? DEFAULT_POLICY;
  const key = 'key' in options ? options.key : KEY;
  return {
    policy,
    namespaces: { get: async (name) => ({ name, labels: options.nsLabels ?? {} }) },
    hashKey: () => key,
    readSources: kubeSourceReader(api.client, { concurrency: 4, deadlineMs: options.deadlineMs ?? 1000 }),
  };
}

function request(
  operation: string,
  object: unknown,
  oldObject: unknown = null,
  resource = { group: 'apps', version: 'v1', resource: 'deployments' },
): AdmissionRequest {
  return { uid: 'uid-1', resource, subResource: '', name: 'web', namespace: 'shop', operation, dryRun: false, object, oldObject };
}

const consuming = podSpec({
  env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'level' } } }],
  envFrom: [{ secretRef: { name: 'db' } }],
});
const sources = {
  'ConfigMap/app-config': configMap('app-config', { level: 'info', other: 'x' }),
  'Secret/db': secret('db', { password: CANARY }),
};
const tracked = (templateAnnotations?: Record<string, string>, image = 'app:1'): Record<string, unknown> => {
  const w = workload('Deployment', { annotations: { 'configstamp.io/track': 'true' }, podSpec: structuredClone(consuming), templateAnnotations });
  (templateOf('Deployment', w).spec as { containers: { image: string }[] }).containers[0]!.image = image;
  return w;
};

function expectedStamp(object: unknown): string {
  const refs = extractReferences(templateOf('Deployment', object));
  return formatStamp(currentStamp(KEY, 'shop', refs, (k, n) => (sources as Record<string, unknown>)[sourceId(k, n)] ?? null));
}

/**
 * The versions the webhook records beside a fresh stamp of `tracked()`, sealed under KEY: the
 * seal covers the namespace and, per source, its kind, name, the keys consumed, the version read
 * and the digest stamped (shared/core/versions.ts; its own tests check the seal against HMAC).
 */
function sealedVersions(): string {
  const digests = new Map(parseStamp(expectedStamp(tracked()))!.map((e) => [e.name, e.digest]));
  const seal = sealOf(KEY, 'shop', [
    { kind: 'ConfigMap', name: 'app-config', keys: { all: false, keys: new Set(['level']) }, version: '777', digest: digests.get('app-config')! },
    { kind: 'Secret', name: 'db', keys: ALL_KEYS, version: '888', digest: digests.get('db')! },
  ]);
  return `v2:${seal}:configmap/app-config=777,secret/db=888`;
}

const VERSIONS_OP = { op: 'add', path: '/metadata/annotations/configstamp.io~1source-versions', value: sealedVersions() };

t.test('CREATE of a tracked Deployment: the keyed stamp, and beside it the versions it was taken at', async (t) => {
  const api = fakeApi(sources);
  const object = tracked();
  const out = await admit(request('CREATE', object), deps(api));
  t.equal(out.result, 'stamped');
  t.same(out.patch, [{ op: 'add', path: '/spec/template/metadata/annotations', value: { 'configstamp.io/stamp': expectedStamp(object) } }, VERSIONS_OP]);
  t.equal(api.calls.length, 2, 'one GET per source');

  // Stamped already (a manifest carrying it): only versions that differ are written.
  const current = tracked({ 'configstamp.io/stamp': expectedStamp(object) });
  const withVersions = await admit(request('CREATE', current), deps(fakeApi(sources)));
  t.same([withVersions.result, withVersions.patch], ['stamped', [VERSIONS_OP]], 'the versions alone');
  (current.metadata as { annotations: Record<string, string> }).annotations['configstamp.io/source-versions'] = VERSIONS_OP.value;
  const same = await admit(request('CREATE', current), deps(fakeApi(sources)));
  t.same([same.result, same.patch], ['unchanged', []], 'both current: nothing');
});

t.test('untracked workloads, other kinds and subresources: allowed, no patch, nothing read', async (t) => {
  const api = fakeApi(sources);
  const untracked = workload('Deployment', { podSpec: structuredClone(consuming) });
  for (const [name, req] of [
    ['untracked', request('CREATE', untracked)],
    ['pod', request('CREATE', tracked(), null, { group: '', version: 'v1', resource: 'pods' })],
    ['subresource', { ...request('UPDATE', tracked(), tracked()), subResource: 'scale' }],
    ['delete', request('DELETE', tracked())],
  ] as const) {
    const out = await admit(req, deps(api));
    t.same([out.result, out.patch], ['skipped', []], name);
  }
  t.same(api.calls, []);
});

t.test('UPDATE with the template unchanged and the stamp dropped: the old stamp is restored, nothing read', async (t) => {
  const api = fakeApi(sources);
  const old = tracked({ 'configstamp.io/stamp': 'v1:secret/db=0123456789abcdef' });
  const out = await admit(request('UPDATE', tracked(), old), deps(api, { key: undefined }));
  t.equal(out.result, 'restored');
  t.same(out.patch, [{ op: 'add', path: '/spec/template/metadata/annotations', value: { 'configstamp.io/stamp': 'v1:secret/db=0123456789abcdef' } }]);
  t.same(api.calls, []);
  const kept = await admit(request('UPDATE', old, old), deps(api));
  t.same([kept.result, kept.patch], ['skipped', []], 'stamp present: untouched');

  // A server-side apply drops what the webhook added for its manager: the stamp and the versions.
  const versions = 'v1:secret/db=888';
  const oldWithVersions = structuredClone(old);
  (oldWithVersions.metadata as { annotations: Record<string, string> }).annotations['configstamp.io/source-versions'] = versions;
  const both = await admit(request('UPDATE', tracked(), oldWithVersions), deps(api));
  t.same(
    both.patch,
    [
      { op: 'add', path: '/spec/template/metadata/annotations', value: { 'configstamp.io/stamp': 'v1:secret/db=0123456789abcdef' } },
      { op: 'add', path: '/metadata/annotations/configstamp.io~1source-versions', value: versions },
    ],
    'both put back',
  );
  const versionsOnly = await admit(request('UPDATE', old, oldWithVersions), deps(api));
  t.same(
    [versionsOnly.result, versionsOnly.patch],
    ['restored', [{ op: 'add', path: '/metadata/annotations/configstamp.io~1source-versions', value: versions }]],
    'the versions alone put back',
  );
  const otherStamp = tracked({ 'configstamp.io/stamp': 'v1:secret/db=fedcba9876543210' });
  const other = await admit(request('UPDATE', otherStamp, oldWithVersions), deps(api));
  t.same([other.result, other.patch], ['skipped', []], 'not beside a stamp they were not recorded with');
  t.same(api.calls, []);
});

t.test('UPDATE changing the template: fresh digests; on failure the previous stamp is kept and a warning says why', async (t) => {
  const old = tracked({ 'configstamp.io/stamp': 'v1:secret/db=0123456789abcdef' });
  const changed = tracked(undefined, 'app:2');
  const fresh = await admit(request('UPDATE', changed, old), deps(fakeApi(sources)));
  t.equal(fresh.result, 'stamped');
  t.equal((fresh.patch[0]!.value as Record<string, string>)['configstamp.io/stamp'], expectedStamp(changed));
  t.same(fresh.patch[1], VERSIONS_OP, 'fresh versions');

  const failed = await admit(request('UPDATE', changed, old), deps(fakeApi(sources, { fail: true })));
  t.equal(failed.result, 'failed_open');
  t.equal(failed.error?.code, 'CS_ERR_SOURCE_READ');
  t.same(
    failed.patch,
    [{ op: 'add', path: '/spec/template/metadata/annotations', value: { 'configstamp.io/stamp': 'v1:secret/db=0123456789abcdef' } }],
    'the previous stamp, so the watcher sees the drift',
  );
  t.match(failed.warnings[0], /^configstamp: not stamped \(CS_ERR_SOURCE_READ: reading (Secret|ConfigMap) shop\/.*\); allowed unchanged/);
});

t.test('no hash key yet, or the API too slow: fail open with the right code, within the deadline', async (t) => {
  const noKey = await admit(request('CREATE', tracked()), deps(fakeApi(sources), { key: undefined }));
  t.same([noKey.result, noKey.error?.code, noKey.patch], ['failed_open', 'CS_ERR_HASH_KEY', []]);
  const started = performance.now();
  const slow = await admit(request('CREATE', tracked()), deps(fakeApi(sources, { hang: true }), { deadlineMs: 50 }));
  t.same([slow.result, slow.error?.code], ['failed_open', 'CS_ERR_DEADLINE']);
  // The API never answers: without the deadline this would hang for ever (generous bound: a loaded machine).
  t.ok(performance.now() - started < 5_000, 'answered after the deadline, not never');
});

t.test('Reloader name patterns list source metadata and stamp the matches', async (t) => {
  const api = fakeApi({ ...sources, 'ConfigMap/app-extra': configMap('app-extra', { a: '1' }), 'ConfigMap/unrelated': configMap('unrelated') });
  const object = workload('Deployment', { annotations: { 'configmap.reloader.stakater.com/reload': 'app-.*' }, podSpec: structuredClone(consuming) });
  const out = await admit(request('CREATE', object), deps(api));
  t.equal(out.result, 'stamped');
  t.match((out.patch[0]!.value as Record<string, string>)['configstamp.io/stamp'], /^v1:configmap\/app-config=[0-9a-f]{16},configmap\/app-extra=[0-9a-f]{16}$/);
});

t.test('the handler: one warn line, one failure metric, a warning, and never a Secret value', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger('info', 'webhook', sink);
  const metrics = createWebhookMetrics();
  const failing: AdmitDeps = {
    ...deps(fakeApi(sources)),
    namespaces: {
      get: async () => {
        throw new TypeError(`boom ${'x'}`);
      },
    },
  };
  const handle = createAdmissionHandler(failing, log, metrics);
  const response = await handle(request('CREATE', tracked()));
  t.same([response.uid, response.allowed, response.patch], ['uid-1', true, undefined]);
  t.match(response.warnings?.[0], /CS_ERR_INTERNAL: boom/);
  const ok = await createAdmissionHandler(deps(fakeApi(sources)), log, metrics)(request('CREATE', tracked()));
  t.equal(ok.patchType, 'JSONPatch');
  t.same(JSON.parse(Buffer.from(ok.patch!, 'base64').toString()), [
    { op: 'add', path: '/spec/template/metadata/annotations', value: { 'configstamp.io/stamp': expectedStamp(tracked()) } },
    VERSIONS_OP,
  ]);
  await new Promise((r) => setImmediate(r));
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(records.filter((r) => r.msg === 'admission failed open').length, 1);
  t.match(records[0], { uid: 'uid-1', kind: 'Deployment', namespace: 'shop', name: 'web', operation: 'CREATE', dryRun: false, code: 'CS_ERR_INTERNAL' });
  const text = await metrics.registry.metrics();
  t.match(text, /configstamp_webhook_failures_total\{code="CS_ERR_INTERNAL"\} 1/);
  t.match(text, /configstamp_webhook_admissions_total\{kind="Deployment",operation="CREATE",result="stamped"\} 1/);
  for (const haystack of [lines.join(''), text, JSON.stringify(ok), JSON.stringify(response)]) {
    t.notOk(haystack.includes(CANARY) || haystack.includes(Buffer.from(CANARY).toString('base64')), 'no Secret value');
  }
});

t.test("a Rollout running a Deployment's template (workloadRef) is skipped: it has no template to stamp, the watcher restarts it", async (t) => {
  const api = fakeApi(sources);
  const rollout = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'by-ref', namespace: 'shop', annotations: { 'configstamp.io/track': 'true', 'configstamp.io/configmaps': 'app-config' } },
    spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } },
  };
  const out = await admit(request('CREATE', rollout, null, { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts' }), deps(api));
  t.equal(out.result, 'skipped');
  t.match(out.reason, /spec\.workloadRef/);
  t.same(out.patch, [], 'no patch: adding a template would make Argo refuse it');
  t.same(api.calls, [], 'nothing read');
});
