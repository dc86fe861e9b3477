/**
 * A pod-template kind configstamp does not know, named with --extra-workload-kinds (here a CRD of
 * Knative Service's shape, serving.knative.dev/v1 services, template at spec.template), on a real
 * control plane: the webhook stamps it at admission and the watcher rolls it once per consumed
 * change, as any built-in kind, through the same kinds table.
 */
import t from 'tap';
import { eventually, sleep } from '../support/poll.js';
import { loopbackWebhookConfiguration, probeWebhook, startWebhookProcess } from '../support/webhook-registration.js';
import { annotationsOf, apply, configMap, createNamespace, kubectl, podTemplate, startCluster, startWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
const KIND_FLAG = '--extra-workload-kinds=serving.knative.dev/v1/services:Service:spec.template';
await apply(cluster, 'default', [
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'services.serving.knative.dev' },
    spec: {
      group: 'serving.knative.dev',
      scope: 'Namespaced',
      names: { kind: 'Service', plural: 'services', singular: 'service', listKind: 'ServiceList', shortNames: ['ksvc'] },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  },
]);
await kubectl(cluster, ['wait', '--for=condition=Established', 'crd/services.serving.knative.dev', '--timeout=60s']);
await createNamespace(cluster, 'configstamp');
const ns = await createNamespace(cluster, 'knative');

// The watcher first: it creates the hash key the webhook then loads.
const watcher = await startWatcher(cluster, 'configstamp', [KIND_FLAG, `--namespaces=${ns}`]);
t.teardown(() => watcher.proc.stop());
const webhook = await startWebhookProcess(cluster, ['--namespace=configstamp', KIND_FLAG]);
t.teardown(() => webhook.process.stop());
await webhook.process.waitFor((r) => r.msg === 'hash key loaded', 30_000);
// The shipped configuration plus the rule the chart renders for an extra kind, in both entries
// (its template path, spec.template, is one the shipped matchConditions already read).
const config = loopbackWebhookConfiguration(webhook.port, webhook.caPem);
for (const hook of config.webhooks) {
  (hook.rules as unknown[]).push({
    apiGroups: ['serving.knative.dev'],
    apiVersions: ['v1'],
    resources: ['services'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  });
}
await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(config));
t.teardown(() => kubectl(cluster, ['delete', 'mutatingwebhookconfiguration', config.metadata.name, '--ignore-not-found']));
await eventually('the API server calls the webhook', async () => ((await probeWebhook(cluster)) ? true : undefined), 30_000, 100);

const PATH = `/apis/serving.knative.dev/v1/namespaces/${ns}/services/hello`;
const service = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', annotations: { 'reloader.stakater.com/auto': 'true' } },
  spec: { template: podTemplate('hello', { configMap: 'greeting', key: 'text' }) },
};

t.test('stamped at admission, rolled once per consumed change, left alone on an unconsumed one', async (t) => {
  await apply(cluster, ns, [configMap('greeting', { text: 'hello', other: '1' })]);
  await apply(cluster, ns, [service]);
  const created = await annotationsOf(client, PATH);
  t.match(created.template['configstamp.io/stamp'], /^v1:configmap\/greeting=[0-9a-f]{16}$/, 'the webhook stamped the extra kind at admission');
  const generation = async (): Promise<number> => (await client.request<{ metadata: { generation: number } }>('GET', PATH)).metadata.generation;
  const first = await generation();
  await apply(cluster, ns, [configMap('greeting', { text: 'bonjour', other: '1' })]);
  await eventually('rolled', async () => ((await generation()) === first + 1 ? true : undefined));
  const rolled = await annotationsOf(client, PATH);
  t.not(rolled.template['configstamp.io/stamp'], created.template['configstamp.io/stamp'], 'a new template stamp: one rollout');
  await apply(cluster, ns, [configMap('greeting', { text: 'bonjour', other: '2' })]);
  await sleep(1_500);
  t.equal(await generation(), first + 1, 'an unconsumed key: nothing more');
  t.ok(
    watcher.rollouts().some((r) => r.workload === `Service/${ns}/hello`),
    'the watcher rolled it under its kind',
  );
});
