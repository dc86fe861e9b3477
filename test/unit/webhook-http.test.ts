// The transport, through fastify's inject: every kind of bad input gets a 4xx with a JSON error
// or an allowed answer echoing the uid; nothing gets a 5xx. A fast-check fuzz run throws
// thousands of mangled reviews at the real handler (core included) to hold that line.
import t from 'tap';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { DEFAULT_POLICY } from '../../shared/core/index.js';
import { createLogger } from '../../shared/log.js';
import { buildApp } from '../../webhook/http.js';
import { createWebhookMetrics } from '../../webhook/metrics.js';
import { kubeSourceReader } from '../../webhook/reads.js';
import { createAdmissionHandler } from '../../webhook/handler.js';
import type { AdmissionHandler } from '../../webhook/handler.js';
import { podSpec, workload } from '../fixtures/index.js';
import { fakeKube } from '../support/fake-kube.js';

const silent = createLogger('silent', 'webhook', new Writable({ write: (_c, _e, done) => done() }));
/** Every source reads as absent (a 404), so tracked workloads get stamped "absent". */
const absentEverywhere = fakeKube({ getOrNull: async () => null, request: async () => ({ items: [] }) });

function makeApp(options: { handler?: AdmissionHandler; ready?: () => boolean; maxRequestBytes?: number } = {}) {
  const metrics = createWebhookMetrics();
  const handler =
    options.handler ??
    createAdmissionHandler(
      {
        policy: DEFAULT_POLICY,
        namespaces: { get: async (name) => ({ name, labels: {} }) },
        hashKey: () => Buffer.alloc(32, 1),
        readSources: kubeSourceReader(absentEverywhere, { concurrency: 4, deadlineMs: 500 }),
      },
      silent,
      metrics,
    );
  return buildApp({ handler, log: silent, metrics, maxRequestBytes: options.maxRequestBytes ?? 64 * 1024, isReady: options.ready ?? (() => true) });
}

const trackedDeployment = workload('Deployment', {
  annotations: { 'configstamp.io/track': 'true' },
  podSpec: podSpec({ envFrom: [{ configMapRef: { name: 'app-config' } }] }),
});

function review(request: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'uid-7',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'web',
      namespace: 'shop',
      operation: 'CREATE',
      dryRun: false,
      object: structuredClone(trackedDeployment),
      ...request,
    },
  };
}

const app = makeApp();
t.teardown(() => app.close());

async function post(payload: string, contentType = 'application/json') {
  const res = await app.inject({ method: 'POST', url: '/mutate', payload, headers: { 'content-type': contentType } });
  return { status: res.statusCode, body: res.json() as Record<string, unknown>, type: String(res.headers['content-type']) };
}

t.test('a good review: 200, the uid and apiVersion echoed, a JSON Patch', async (t) => {
  const res = await post(JSON.stringify(review()));
  t.equal(res.status, 200);
  t.match(res.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-7', allowed: true, patchType: 'JSONPatch' } });
  const patch = JSON.parse(Buffer.from((res.body.response as { patch: string }).patch, 'base64').toString()) as unknown;
  t.same(patch, [{ op: 'add', path: '/spec/template/metadata/annotations', value: { 'configstamp.io/stamp': 'v1:configmap/app-config=absent' } }]);
  const charset = await post(JSON.stringify(review()), 'application/json; charset=utf-8');
  t.equal(charset.status, 200, 'charset parameter accepted');
});

t.test('bad input: a 4xx with a JSON error', async (t) => {
  const cases: [string, string, string, number][] = [
    ['non-JSON', 'not json{', 'application/json', 400],
    ['empty body', '', 'application/json', 400],
    ['wrong content type', JSON.stringify(review()), 'text/plain', 415],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 'application/json', 400],
    ['unknown apiVersion', JSON.stringify({ ...review(), apiVersion: 'admission.k8s.io/v2' }), 'application/json', 400],
    ['no uid', JSON.stringify(review({ uid: undefined })), 'application/json', 400],
  ];
  for (const [name, payload, type, status] of cases) {
    const res = await post(payload, type);
    t.equal(res.status, status, name);
    t.match(res.type, /application\/json/, `${name}: JSON`);
    t.match(res.body, { error: String, code: String, message: String }, `${name}: error body`);
  }
  const big = await post(JSON.stringify(review({ padding: 'x'.repeat(70 * 1024) })));
  t.equal(big.status, 413, 'over the size limit');
  t.match(big.body, { code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
  const missing = await app.inject({ method: 'GET', url: '/nope' });
  t.equal(missing.statusCode, 404);
});

t.test('wrong types with a readable uid: allowed, uid echoed, a warning', async (t) => {
  const res = await post(JSON.stringify(review({ object: 'a string', dryRun: 'yes' })));
  t.equal(res.status, 200);
  t.match(res.body.response, {
    uid: 'uid-7',
    allowed: true,
    warnings: [/malformed AdmissionReview: request.dryRun is not a boolean; request.object is not an object/],
  });
  t.notOk((res.body.response as Record<string, unknown>).patch);
});

t.test('a handler that throws still answers allowed with the uid', async (t) => {
  const throwing = makeApp({
    handler: async () => {
      throw new Error('bug');
    },
  });
  const res = await throwing.inject({ method: 'POST', url: '/mutate', payload: review() });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { response: { uid: 'uid-7', allowed: true, warnings: [/CS_ERR_INTERNAL/] } });
  await throwing.close();
});

t.test('/healthz always, /readyz only when ready', async (t) => {
  let ready = false;
  const probed = makeApp({ ready: () => ready });
  t.equal((await probed.inject({ url: '/healthz' })).statusCode, 200);
  t.equal((await probed.inject({ url: '/readyz' })).statusCode, 503);
  ready = true;
  t.equal((await probed.inject({ url: '/readyz' })).statusCode, 200);
  await probed.close();
});

/** A JSON value that looks like Kubernetes objects often enough to reach deep code paths. */
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1, 1.5, '', 'CREATE', 'UPDATE', 'true', 'configstamp.io/track', 'v1:configmap/a=absent'),
    fc.string(),
    fc.integer(),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(
    fc.constantFrom(
      'metadata',
      'spec',
      'template',
      'annotations',
      'containers',
      'env',
      'envFrom',
      'volumes',
      'name',
      'key',
      'configMapRef',
      'secretKeyRef',
      'valueFrom',
      'projected',
      'sources',
      'items',
      'jobTemplate',
      'x',
    ),
    tie('value'),
    { maxKeys: 5 },
  ),
}));

const PATHS = [
  [],
  ['apiVersion'],
  ['kind'],
  ['request'],
  ['request', 'uid'],
  ['request', 'operation'],
  ['request', 'resource'],
  ['request', 'resource', 'resource'],
  ['request', 'namespace'],
  ['request', 'dryRun'],
  ['request', 'subResource'],
  ['request', 'object'],
  ['request', 'oldObject'],
  ['request', 'object', 'metadata'],
  ['request', 'object', 'metadata', 'annotations'],
  ['request', 'object', 'spec'],
  ['request', 'object', 'spec', 'template'],
  ['request', 'object', 'spec', 'template', 'metadata'],
  ['request', 'object', 'spec', 'template', 'spec'],
  ['request', 'object', 'spec', 'template', 'spec', 'containers'],
  ['request', 'object', 'spec', 'template', 'spec', 'volumes'],
];

function mangle(base: unknown, path: readonly string[], value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  if (typeof base !== 'object' || base === null) return base;
  let node = base as Record<string, unknown>;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (typeof next !== 'object' || next === null) return base;
    node = next as Record<string, unknown>;
  }
  if (remove) delete node[path[path.length - 1]!];
  else node[path[path.length - 1]!] = value;
  return base;
}

t.test('fuzz: thousands of mangled reviews, never a 5xx, the uid always echoed when readable', async (t) => {
  const mangling = fc.record({
    edits: fc.array(fc.record({ path: fc.constantFrom(...PATHS), value: jsonish.value, remove: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    operation: fc.constantFrom('CREATE', 'UPDATE'),
    withOld: fc.boolean(),
    text: fc.option(fc.string(), { freq: 10 }),
  });
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(mangling, async ({ edits, operation, withOld, text }) => {
      let body: unknown = review({ operation, oldObject: withOld ? structuredClone(trackedDeployment) : undefined });
      for (const e of edits) body = mangle(body, e.path, structuredClone(e.value), e.remove);
      const payload = text ?? JSON.stringify(body) ?? 'undefined';
      const res = await app.inject({ method: 'POST', url: '/mutate', payload, headers: { 'content-type': 'application/json' } });
      if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${payload.slice(0, 200)}`);
      const answer = res.json() as { response?: { uid?: unknown; allowed?: unknown } };
      const request = (body as { request?: { uid?: unknown } } | null)?.request;
      const envelopeOk =
        text === null &&
        (body as { apiVersion?: unknown })?.apiVersion === 'admission.k8s.io/v1' &&
        (body as { kind?: unknown }).kind === 'AdmissionReview' &&
        typeof request === 'object' &&
        request !== null &&
        !Array.isArray(request);
      const uid = envelopeOk ? request.uid : undefined;
      if (typeof uid === 'string' && uid !== '' && uid.length <= 256) {
        if (res.statusCode !== 200 || answer.response?.uid !== uid || answer.response.allowed !== true)
          throw new Error(`uid not echoed for ${payload.slice(0, 200)}`);
      } else if (res.statusCode !== 400 && res.statusCode !== 200) {
        throw new Error(`unexpected ${res.statusCode}`);
      }
      checked++;
    }),
    { numRuns: 3000 },
  );
  t.equal(checked, 3000);
});
