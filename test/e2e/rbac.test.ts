// The shipped RBAC, proven on a real control plane: deploy/base is applied with the real kubectl,
// and `configstamp certs`, the webhook and the watcher run as real processes, each under a token
// of ITS OWN ServiceAccount (minted through TokenRequest, as a kubelet would mount it). The core
// scenarios then work end to end under exactly those rights (stamped at creation, one ReplicaSet,
// no roll on re-apply or on an unconsumed key, one roll and one Event on a consumed key), none of
// the three ever logs a 403, and each account is refused, by real requests, what it must not do.
// (test/e2e/manifests.test.ts asks the authorizer with `kubectl auth can-i`; this file does not.)
import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeApiError, KubeClient, MERGE_PATCH } from '../../shared/kube/client.js';
import { freshNamespace } from '../cluster/fixtures.js';
import { eventually, sleep } from '../support/poll.js';
import { startConfigstamp } from '../support/process.js';
import { ACCOUNTS, installShipped } from '../support/shipped-install.js';
import type { ConfigstampProcess } from '../support/process.js';
import { probeWebhook } from '../support/webhook-registration.js';
import { annotationsOf, apply, configMap, deployment, rolloutCount, secret, startCluster, statefulSet } from './watcher-support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = path.join(ROOT, 'deploy/base');
const NAMESPACE = 'configstamp';
const STAMP = 'configstamp.io/stamp';

const { cluster, client: admin } = await startCluster(t);

// ---- install: the kustomize base as shipped; the three processes, each as its own ServiceAccount

// The one change for a test: the API server reaches the webhook on loopback instead of through
// the Service (installShipped). Rules, namespaceSelector, failurePolicy and the rest stay as shipped.
const { port, kubeconfigs, outDir } = await installShipped(t, cluster, BASE);
const clients = {
  certs: await KubeClient.create(kubeconfigs.certs.access, 'configstamp-e2e-certs'),
  webhook: await KubeClient.create(kubeconfigs.webhook.access, 'configstamp-e2e-webhook'),
  watcher: await KubeClient.create(kubeconfigs.watcher.access, 'configstamp-e2e-watcher'),
};
t.teardown(() => Object.values(clients).forEach((c) => c.close()));

const certs = startConfigstamp(['certs', `--kubeconfig=${kubeconfigs.certs.path}`, '--extra-ip-addresses=127.0.0.1', `--out-dir=${outDir}`]);
const certsCode = await certs.exited;

const webhook = startConfigstamp([
  'webhook',
  `--kubeconfig=${kubeconfigs.webhook.path}`,
  '--host=127.0.0.1',
  `--port=${port}`,
  '--metrics-host=127.0.0.1',
  '--metrics-port=0',
  `--cert-file=${path.join(outDir, 'tls.crt')}`,
  `--key-file=${path.join(outDir, 'tls.key')}`,
]);
t.teardown(() => webhook.stop());
const watcher = startConfigstamp([
  'watcher',
  `--kubeconfig=${kubeconfigs.watcher.path}`,
  `--namespace=${NAMESPACE}`,
  '--health-host=127.0.0.1',
  '--health-port=0',
  '--debounce=300ms',
  '--min-rollout-interval=0',
  '--lease-duration=2s',
  '--renew-deadline=1500ms',
  '--retry-period=250ms',
  '--log-level=debug',
]);
t.teardown(() => watcher.stop());

const processes: Record<string, ConfigstampProcess> = { certs, webhook, watcher };
const FORBIDDEN = /forbidden|\b403\b/i;

t.test('configstamp certs, as configstamp-certs: hash key, CA, serving certificate, caBundle', async (t) => {
  t.equal(certsCode, 0, `exit 0${certsCode === 0 ? '' : `:\n${certs.lines.join('\n')}`}`);
  for (const name of ['configstamp-hash-key', 'configstamp-ca', 'configstamp-webhook-tls']) {
    t.ok(await admin.getOrNull(`/api/v1/namespaces/${NAMESPACE}/secrets/${name}`), `Secret ${name} exists`);
  }
  const config = await admin.request<{ webhooks: { clientConfig: { caBundle?: string; url?: string }; failurePolicy: string }[] }>(
    'GET',
    '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/configstamp',
  );
  t.ok(config.webhooks[0]?.clientConfig.caBundle, 'caBundle injected');
  t.equal(config.webhooks[0]?.clientConfig.url, `https://127.0.0.1:${port}/mutate`, 'the loopback address is kept');
  t.equal(config.webhooks[0]?.failurePolicy, 'Ignore', 'the rest as shipped');
});

t.test('the webhook and the watcher start under their own accounts', async (t) => {
  await webhook.waitFor((r) => r.msg === 'serving');
  await watcher.waitFor((r) => r.msg === 'synced: listed namespaces, sources and workloads', 60_000);
  await watcher.waitFor((r) => r.msg === 'became leader' || r.msg === 'leading: reconciling every workload (restart sync)', 30_000);
  await eventually('the API server to call the webhook (stamped probe)', async () => ((await probeWebhook(cluster)) ? true : undefined), 30_000, 200);
  const lease = await admin.getOrNull<{ spec?: { holderIdentity?: string } }>(
    `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/configstamp-watcher`,
  );
  t.ok(lease?.spec?.holderIdentity, 'the watcher holds its Lease');
});

t.test('the core scenarios work under the shipped RBAC', async (t) => {
  const ns = await freshNamespace(t, cluster, 'rbac');
  const deployPath = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
  const replicaSets = (): Promise<number> => rolloutCount(admin, ns, 'Deployment', 'web');
  const settled = async (what: string, expected: number): Promise<number> => {
    await eventually(what, async () => ((await replicaSets()) >= expected ? true : undefined));
    await sleep(2_000);
    return replicaSets();
  };
  const web = deployment('web', { configMap: 'cfg', key: 'used', secret: 'sec' });

  await apply(cluster, ns, [configMap('cfg', { used: '1', unused: '1' }), secret('sec', { password: 'one' })]);
  await apply(cluster, ns, [web]);
  const created = await annotationsOf(admin, deployPath);
  t.match(created.template[STAMP] ?? '', /configmap\/cfg=[0-9a-f]+.*secret\/sec=[0-9a-f]+/, 'stamped at creation (ConfigMap and Secret)');
  t.ok(
    webhook.records().some((r) => r.part === 'admission' && r.namespace === ns && r.name === 'web' && r.operation === 'CREATE' && r.result === 'stamped'),
    'by the webhook, in the admission of the CREATE',
  );
  t.equal(await settled('the first ReplicaSet', 1), 1, 'exactly 1 ReplicaSet');

  await apply(cluster, ns, [web]);
  t.equal(await settled('the ReplicaSets after a re-apply', 1), 1, 're-apply of the unchanged manifest: still 1');
  t.equal((await annotationsOf(admin, deployPath)).template[STAMP], created.template[STAMP], 'same stamp');

  await apply(cluster, ns, [configMap('cfg', { used: '2', unused: '1' })]);
  t.equal(await settled('a rollout', 2), 2, 'consumed key changed: exactly 2 ReplicaSets');
  const events = await eventually('the ConfigstampRollout Event', async () => {
    const list = await admin.request<{ items: { reason?: string; involvedObject?: { name?: string } }[] }>('GET', `/api/v1/namespaces/${ns}/events`);
    const found = list.items.filter((e) => e.reason === 'ConfigstampRollout' && e.involvedObject?.name === 'web');
    return found.length > 0 ? found : undefined;
  });
  t.equal(events.length, 1, 'one ConfigstampRollout Event, written by the watcher');

  await apply(cluster, ns, [configMap('cfg', { used: '2', unused: '2' })]);
  t.equal(await settled('the ReplicaSets after an unconsumed change', 2), 2, 'unconsumed key changed: still 2');

  await apply(cluster, ns, [statefulSet('db', { configMap: 'cfg', key: 'used' })]);
  const db = await annotationsOf(admin, `/apis/apps/v1/namespaces/${ns}/statefulsets/db`);
  t.match(db.template[STAMP] ?? '', /configmap\/cfg=[0-9a-f]+/, 'a StatefulSet is stamped at creation too');

  t.ok(
    watcher.records().some((r) => r.msg === 'rollout: stamp patched' && r.workload === `Deployment/${ns}/web`),
    "the rollout was the watcher's patch",
  );
});

// ---- what each account is refused, by real requests -------------------------------------------

/** The HTTP status a request is answered with (200 when it succeeds). */
async function statusOf(client: KubeClient, method: string, apiPath: string, body?: unknown): Promise<number | string> {
  try {
    await client.request(method, apiPath, body === undefined ? {} : { body, contentType: method === 'PATCH' ? MERGE_PATCH : 'application/json' });
    return 200;
  } catch (err) {
    return err instanceof KubeApiError ? err.status : String(err);
  }
}

t.test('each ServiceAccount is refused what it should not have', async (t) => {
  const ns = await freshNamespace(t, cluster, 'deny');
  await apply(cluster, ns, [configMap('cfg', { k: 'v' }), secret('sec', { password: 'x' }), deployment('app', { configMap: 'cfg' })]);
  const deploymentPath = `/apis/apps/v1/namespaces/${ns}/deployments/app`;
  const stampPatch = { spec: { template: { metadata: { annotations: { [STAMP]: 'configmap/cfg=0000000000000000' } } } } };
  const newSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted' }, stringData: { k: 'v' } };

  // Controls: the same tokens do work, so each 403 below is RBAC and not a broken credential.
  t.ok(await clients.webhook.request('GET', `/api/v1/namespaces/${ns}/secrets/sec`), 'control: the webhook reads a source Secret');
  t.ok(await clients.watcher.request('GET', deploymentPath), 'control: the watcher reads a Deployment');
  t.ok(await clients.certs.request('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/configstamp-hash-key`), 'control: certs reads its own Secrets');

  const cases: [account: keyof typeof clients, what: string, method: string, apiPath: string, body?: unknown][] = [
    ['webhook', 'PATCH a Deployment', 'PATCH', deploymentPath, stampPatch],
    ['webhook', 'list Pods', 'GET', `/api/v1/namespaces/${ns}/pods`],
    ['webhook', 'list Pods cluster-wide', 'GET', '/api/v1/pods'],
    ['watcher', 'GET a Pod', 'GET', `/api/v1/namespaces/${ns}/pods/anything`],
    ['watcher', 'list Pods', 'GET', `/api/v1/namespaces/${ns}/pods`],
    ['watcher', 'create a Secret in a workload namespace', 'POST', `/api/v1/namespaces/${ns}/secrets`, newSecret],
    ['certs', 'GET a Secret outside configstamp', 'GET', `/api/v1/namespaces/${ns}/secrets/sec`],
    ['certs', 'list Secrets outside configstamp', 'GET', `/api/v1/namespaces/${ns}/secrets`],
    ['certs', 'PATCH a Deployment', 'PATCH', deploymentPath, stampPatch],
  ];
  for (const [account, what, method, apiPath, body] of cases) {
    t.equal(await statusOf(clients[account], method, apiPath, body), 403, `${ACCOUNTS[account]} may not ${what}: 403`);
  }

  t.equal(await admin.getOrNull(`/api/v1/namespaces/${ns}/secrets/planted`), null, 'no Secret was planted');
  const app = await annotationsOf(admin, deploymentPath);
  t.not(app.template[STAMP], 'configmap/cfg=0000000000000000', 'the Deployment was not patched');
});

t.test('no process was refused anything: no forbidden/403 in any log line', async (t) => {
  for (const [name, proc] of Object.entries(processes)) {
    t.ok(proc.lines.length > 0, `configstamp ${name} logged`);
    t.same(
      proc.lines.filter((line) => FORBIDDEN.test(line)),
      [],
      `configstamp ${name}: no forbidden/403`,
    );
  }
});
