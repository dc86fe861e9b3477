// The shipped webhook configuration's matchConditions and its two entries (deploy/base, as the
// chart renders it by default), on a real control plane: the API server compiles the CEL, and
// then calls the webhook process only for what it could track. Each call is counted from the
// webhook's own log (--log-level=debug logs every admission it answers, skipped ones too): an
// untracked Deployment's CREATE and UPDATEs never reach it; one carrying our key, Reloader's (on
// the workload or only on its pod template), Wave's, or a CronJob's template key is stamped at
// CREATE; so is a workload with no key in a namespace labelled configstamp.io/track=true (in any
// case); an UPDATE that drops a stamp gets it back, even when it drops the tracking key too. The
// control at the end registers the same entries without matchConditions and sees the untracked
// Deployment arrive, so the counts are real.
import t from 'tap';
import { ensureHashKey } from '../../shared/kube/hashkey.js';
import { eventually } from '../support/poll.js';
import { loadWebhookConfiguration, probeWebhook, registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';
import { annotationsOf, apply, configMap, createNamespace, deployment, kubectl, podTemplate, startCluster } from './watcher-support.js';

const STAMP = 'configstamp.io/stamp';
const STAMPED = /^v1:configmap\/cfg=[0-9a-f]{16}$/;

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');
await ensureHashKey(client, { namespace: 'configstamp', name: 'configstamp-hash-key' });
const webhook = await startWebhookProcess(cluster, ['--namespace=configstamp', '--log-level=debug']);
t.teardown(() => webhook.process.stop());
await webhook.process.waitFor((r) => r.msg === 'hash key loaded', 30_000);
let unregister = await registerWebhook(cluster, webhook.port, webhook.caPem);
t.teardown(() => unregister());

const APPS = await createNamespace(cluster, 'apps');
const LABELLED = await createNamespace(cluster, 'labelled', { 'configstamp.io/track': 'true' });
const SHOUTING = await createNamespace(cluster, 'shouting', { 'configstamp.io/track': 'TRUE' });
for (const ns of [APPS, LABELLED, SHOUTING]) await apply(cluster, ns, [configMap('cfg', { k: 'v' })]);

/** The admissions of one object the webhook process answered, from its log. */
function admissions(namespace: string, name: string): { operation: string; result: string }[] {
  return webhook.process
    .records()
    .filter((r) => typeof r.msg === 'string' && r.msg.startsWith('admission') && r.namespace === namespace && r.name === name)
    .map((r) => ({ operation: String(r.operation), result: String(r.result) }));
}

let sentinels = 0;
/**
 * Creates a tracked Deployment and waits for the webhook to log it: the webhook logs each
 * admission before answering and its log is one ordered stream, so every admission of an earlier
 * request is in the log by then.
 */
async function flushLog(): Promise<void> {
  const name = `sentinel-${++sentinels}`;
  await apply(cluster, APPS, [deployment(name, { configMap: 'cfg' })]);
  await eventually('the sentinel in the webhook log', async () => (admissions(APPS, name).length > 0 ? true : undefined), 10_000, 50);
}

const path = (ns: string, name: string, plural = 'deployments', group = 'apps/v1') => `/apis/${group}/namespaces/${ns}/${plural}/${name}`;

t.test('the API server accepts the shipped configuration: both entries, CEL compiled and kept', async (t) => {
  const stored = JSON.parse(await kubectl(cluster, ['get', 'mutatingwebhookconfiguration', 'configstamp', '-o', 'json'])) as {
    webhooks: { name: string; namespaceSelector: unknown; matchConditions?: unknown }[];
  };
  const shipped = loadWebhookConfiguration();
  t.same(
    stored.webhooks.map((h) => h.name),
    ['stamp.configstamp.io', 'namespace.stamp.configstamp.io'],
  );
  t.same(
    stored.webhooks.map((h) => [h.namespaceSelector, h.matchConditions]),
    shipped.webhooks.map((h) => [h.namespaceSelector, h.matchConditions]),
    'namespaceSelectors and matchConditions as shipped',
  );
  t.equal((stored.webhooks[0]!.matchConditions as unknown[]).length, 1, 'entry 0 has its condition');
});

t.test('an untracked Deployment: neither its CREATE nor its UPDATEs reach the webhook', async (t) => {
  const plain = deployment('plain', { configMap: 'cfg' }, {}) as { metadata: Record<string, unknown>; spec: { template: unknown } };
  await apply(cluster, APPS, [plain]);
  // A template change and a metadata-only change: both are UPDATEs the rules match.
  await apply(cluster, APPS, [{ ...plain, spec: { ...plain.spec, template: podTemplate('plain', { configMap: 'cfg', key: 'k' }) } }]);
  await kubectl(cluster, ['label', '-n', APPS, 'deployment/plain', 'tier=web']);
  await flushLog();
  t.same(admissions(APPS, 'plain'), [], 'the webhook never saw it');
  t.notOk((await annotationsOf(client, path(APPS, 'plain'))).template[STAMP], 'and it is unstamped');
  t.ok(admissions(APPS, 'sentinel-1').length > 0, 'while a tracked Deployment created after it did reach the webhook');
});

t.test('a tracked workload reaches the webhook and is stamped at CREATE, whichever key tracks it', async (t) => {
  const withTemplateAnnotations = (d: unknown, annotations: Record<string, string>) => {
    const w = d as { spec: { template: { metadata: Record<string, unknown> } } };
    w.spec.template.metadata.annotations = annotations;
    return w;
  };
  const cases: [string, unknown][] = [
    ['ours', deployment('ours', { configMap: 'cfg' }, { 'configstamp.io/track': 'true' })],
    ['reloader-meta', deployment('reloader-meta', { configMap: 'cfg' }, { 'reloader.stakater.com/auto': 'true' })],
    [
      'reloader-template',
      withTemplateAnnotations(deployment('reloader-template', { configMap: 'cfg' }, {}), { 'configmap.reloader.stakater.com/reload': 'cfg' }),
    ],
    ['wave', deployment('wave', { configMap: 'cfg' }, { 'wave.pusher.com/update-on-config-change': 'true' })],
  ];
  await apply(
    cluster,
    APPS,
    cases.map(([, d]) => d),
  );
  for (const [name] of cases) {
    t.match((await annotationsOf(client, path(APPS, name))).template[STAMP], STAMPED, `${name}: stamped`);
    t.same(admissions(APPS, name), [{ operation: 'CREATE', result: 'stamped' }], `${name}: by one CREATE admission`);
  }
  // A CronJob whose key is on its pod template only: spec.jobTemplate.spec.template.
  const template = podTemplate('nightly', { configMap: 'cfg' }) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  template.metadata.annotations = { 'reloader.stakater.com/auto': 'true' };
  template.spec.restartPolicy = 'Never';
  await apply(cluster, APPS, [
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly' },
      spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template } } },
    },
  ]);
  const cron = await client.request<{ spec: { jobTemplate: { spec: { template: { metadata: { annotations?: Record<string, string> } } } } } }>(
    'GET',
    path(APPS, 'nightly', 'cronjobs', 'batch/v1'),
  );
  t.match(cron.spec.jobTemplate.spec.template.metadata.annotations?.[STAMP], STAMPED, 'a CronJob with its key on its pod template: stamped');
  t.same(admissions(APPS, 'nightly'), [{ operation: 'CREATE', result: 'stamped' }]);
});

t.test('in a namespace labelled configstamp.io/track=true, in any case, a workload with no key is sent and stamped', async (t) => {
  for (const ns of [LABELLED, SHOUTING]) {
    await apply(cluster, ns, [deployment('bare', { configMap: 'cfg' }, {})]);
    t.match((await annotationsOf(client, path(ns, 'bare'))).template[STAMP], STAMPED, `${ns}: stamped`);
    t.same(admissions(ns, 'bare'), [{ operation: 'CREATE', result: 'stamped' }], `${ns}: by one CREATE admission`);
  }
});

t.test('an UPDATE that drops the stamp gets it back, also when it drops the tracking key (the old object had the stamp)', async (t) => {
  for (const [name, replacement] of [
    ['keeps-key', { 'configstamp.io/track': 'true' }],
    ['drops-key', {}],
  ] as const) {
    await apply(cluster, APPS, [deployment(name, { configMap: 'cfg' }, { 'configstamp.io/track': 'true' })]);
    const stamp = (await annotationsOf(client, path(APPS, name))).template[STAMP];
    t.match(stamp, STAMPED, `${name}: stamped at creation`);
    // kubectl replace with a manifest lacking the stamp (a re-render): the template is otherwise unchanged.
    await kubectl(cluster, ['replace', '-n', APPS, '-f', '-'], JSON.stringify(deployment(name, { configMap: 'cfg' }, replacement)));
    const after = await annotationsOf(client, path(APPS, name));
    t.equal(after.template[STAMP], stamp, `${name}: the stamp is back`);
    t.same(
      admissions(APPS, name),
      [
        { operation: 'CREATE', result: 'stamped' },
        { operation: 'UPDATE', result: 'restored' },
      ],
      `${name}: the UPDATE reached the webhook and was restored`,
    );
  }
});

t.test('control: registered without matchConditions, an untracked Deployment like it does reach the webhook', async (t) => {
  await unregister();
  await eventually('the API server to stop calling the webhook', async () => ((await probeWebhook(cluster)) ? undefined : true), 30_000, 100);
  unregister = await registerWebhook(cluster, webhook.port, webhook.caPem, undefined, { matchConditions: false });
  await apply(cluster, APPS, [deployment('plain-control', { configMap: 'cfg' }, {})]);
  await kubectl(cluster, ['label', '-n', APPS, 'deployment/plain-control', 'tier=web']);
  await flushLog();
  t.same(
    admissions(APPS, 'plain-control'),
    [
      { operation: 'CREATE', result: 'skipped' },
      { operation: 'UPDATE', result: 'skipped' },
    ],
    'its CREATE and UPDATE are sent (and skipped by the webhook itself)',
  );
});
