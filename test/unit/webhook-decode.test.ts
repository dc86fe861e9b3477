// decodeReview: a table of untrusted bodies and what each must become (a 400, an allowed answer
// echoing the uid, or a decoded request), plus the config parser's every-problem-at-once rule.
import t from 'tap';
import { decodeReview, decodeReviewText } from '../../webhook/decode.js';
import { parseWebhookConfig } from '../../webhook/config.js';

function review(request: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request, ...extra };
}

const good = {
  uid: 'u-1',
  kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
  resource: { group: 'apps', version: 'v1', resource: 'deployments' },
  name: 'web',
  namespace: 'shop',
  operation: 'CREATE',
  dryRun: false,
  object: { metadata: { name: 'web' } },
  oldObject: null,
};

const cases: { name: string; body: unknown; expect: 'ok' | 400 | 'uid' }[] = [
  { name: 'a good review', body: review(good), expect: 'ok' },
  { name: 'core group (empty group omitted)', body: review({ ...good, resource: { version: 'v1', resource: 'pods' } }), expect: 'ok' },
  { name: 'not an object', body: [1, 2], expect: 400 },
  { name: 'null', body: null, expect: 400 },
  { name: 'v1beta1', body: { ...review(good), apiVersion: 'admission.k8s.io/v1beta1' }, expect: 400 },
  { name: 'wrong kind', body: { ...review(good), kind: 'Deployment' }, expect: 400 },
  { name: 'no request', body: review(undefined), expect: 400 },
  { name: 'request is a string', body: review('x'), expect: 400 },
  { name: 'uid missing', body: review({ ...good, uid: undefined }), expect: 400 },
  { name: 'uid a number', body: review({ ...good, uid: 7 }), expect: 400 },
  { name: 'uid empty', body: review({ ...good, uid: '' }), expect: 400 },
  { name: 'operation unknown', body: review({ ...good, operation: 'PATCH' }), expect: 'uid' },
  { name: 'resource a string', body: review({ ...good, resource: 'deployments' }), expect: 'uid' },
  { name: 'resource group a number', body: review({ ...good, resource: { ...good.resource, group: 1 } }), expect: 'uid' },
  { name: 'namespace an object', body: review({ ...good, namespace: {} }), expect: 'uid' },
  { name: 'dryRun a string', body: review({ ...good, dryRun: 'true' }), expect: 'uid' },
  { name: 'object an array', body: review({ ...good, object: [] }), expect: 'uid' },
  { name: 'oldObject a number', body: review({ ...good, oldObject: 3 }), expect: 'uid' },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const decoded = decodeReview(c.body);
    if (c.expect === 'ok') {
      t.ok(decoded.ok);
    } else if (c.expect === 400) {
      t.same({ ok: decoded.ok, status: !decoded.ok && decoded.status, uid: !decoded.ok && decoded.uid }, { ok: false, status: 400, uid: undefined });
    } else {
      t.same({ ok: decoded.ok, status: !decoded.ok && decoded.status, uid: !decoded.ok && decoded.uid }, { ok: false, status: 200, uid: 'u-1' });
      t.match(!decoded.ok && decoded.message, /^malformed AdmissionReview: /);
    }
  });
}

t.test('decoded fields are typed and defaulted', async (t) => {
  const decoded = decodeReview(review({ ...good, dryRun: undefined, subResource: undefined, resource: { version: 'v1', resource: 'pods' } }));
  t.ok(decoded.ok);
  if (decoded.ok)
    t.same(
      { dryRun: decoded.request.dryRun, subResource: decoded.request.subResource, group: decoded.request.resource.group },
      { dryRun: false, subResource: '', group: '' },
    );
});

t.test('text that is not JSON is a 400', async (t) => {
  for (const text of ['', '{', 'null x', '\u0000']) {
    const decoded = decodeReviewText(text);
    t.same(!decoded.ok && decoded.status, 400, JSON.stringify(text));
  }
});

t.test('config: defaults, env vars, and every problem at once', async (t) => {
  const config = parseWebhookConfig([], {})!;
  t.same([config.port, config.host, config.metricsPort, config.fetchDeadlineMs, config.fetchConcurrency], [8443, '0.0.0.0', 8080, 2000, 8]);
  t.ok(Object.isFrozen(config));
  const fromEnv = parseWebhookConfig(['--port=0'], { CONFIGSTAMP_FETCH_DEADLINE: '750ms', CONFIGSTAMP_PORT: '9443', CONFIGSTAMP_TRACK_ALL: 'true' })!;
  t.same([fromEnv.port, fromEnv.fetchDeadlineMs, fromEnv.policy.trackAll], [0, 750, true], 'flags win over env');
  t.equal(parseWebhookConfig(['--help'], {}), null);
  t.throws(
    () => parseWebhookConfig(['--port=70000', '--cert-file=', 'stray'], {}),
    /unexpected argument "stray"[\s\S]*--port: 70000 is not a TCP port[\s\S]*--cert-file: must not be empty/,
  );
  t.throws(() => parseWebhookConfig(['--fetch-concurrency=0', '--fetch-deadline=soon'], {}), /fetch-deadline[\s\S]*fetch-concurrency/);
});
