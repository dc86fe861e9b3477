// A scoped install, proven on a real control plane under the shipped accounts: the kustomize
// overlay deploy/overlays/namespaced (the base + deploy/components/namespaced, scope team-a) is
// applied with the real kubectl, and `configstamp certs`, the webhook and the watcher run as real
// processes, each under a token of its own ServiceAccount. In team-a everything works (stamped
// at creation, one ReplicaSet, one rollout per consumed change); outside it the API server does
// not call the webhook, nothing rolls, and the accounts' own requests get a real 403; no process
// ever logs one, since none asks outside its scope (no Namespace object is read either).
import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeApiError, KubeClient } from '../../shared/kube/client.js';
import { eventually, sleep } from '../support/poll.js';
import { startConfigstamp } from '../support/process.js';
import { installShipped } from '../support/shipped-install.js';
import { annotationsOf, apply, configMap, createNamespace, deployment, rolloutCount, secret, startCluster } from './watcher-support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OVERLAY = path.join(ROOT, 'deploy/overlays/namespaced');
const NAMESPACE = 'configstamp';
const IN = 'team-a';
const OUT = 'team-b';
const STAMP = 'configstamp.io/stamp';

const { cluster, client: admin } = await startCluster(t);
await createNamespace(cluster, IN);
await createNamespace(cluster, OUT);
const { port, shipped, kubeconfigs: accounts, outDir } = await installShipped(t, cluster, OVERLAY);
const clients = {
  webhook: await KubeClient.create(accounts.webhook.access, 'configstamp-e2e-webhook'),
  watcher: await KubeClient.create(accounts.watcher.access, 'configstamp-e2e-watcher'),
};
t.teardown(() => Object.values(clients).forEach((c) => c.close()));

const certs = startConfigstamp(['certs', `--kubeconfig=${accounts.certs.path}`, '--extra-ip-addresses=127.0.0.1', `--out-dir=${outDir}`]);
const certsCode = await certs.exited;
// The processes take the scope as the shipped Deployments pass it (--namespaces=team-a).
const webhook = startConfigstamp([
  'webhook',
  `--kubeconfig=${accounts.webhook.path}`,
  `--namespaces=${IN}`,
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
  `--kubeconfig=${accounts.watcher.path}`,
  `--namespace=${NAMESPACE}`,
  `--namespaces=${IN}`,
  '--health-host=127.0.0.1',
  '--health-port=0',
  '--debounce=300ms',
  '--min-rollout-interval=0',
  '--lease-duration=2s',
  '--renew-deadline=1500ms',
  '--retry-period=250ms',
]);
t.teardown(() => watcher.stop());

/** A server-side dry-run create of a tracked Deployment in `ns`: its stamp, if the webhook gave one. */
async function dryRunStamp(ns: string): Promise<string | undefined> {
  const probe = deployment('probe', { configMap: 'probe-cfg' });
  const r = await cluster.kubectl(['create', '-n', ns, '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(probe) });
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { spec: { template: { metadata?: { annotations?: Record<string, string> } } } }).spec.template.metadata?.annotations?.[STAMP];
}

t.test('installed and running under the shipped accounts', async (t) => {
  t.equal(certsCode, 0, `configstamp certs exits 0${certsCode === 0 ? '' : `:\n${certs.lines.join('\n')}`}`);
  const expressions = (shipped.webhooks[0]?.namespaceSelector as { matchExpressions?: unknown[] } | undefined)?.matchExpressions ?? [];
  t.same(
    expressions.filter((e) => (e as { operator?: string }).operator === 'In'),
    [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [IN] }],
    'the webhook configuration matches team-a only',
  );
  await webhook.waitFor((r) => r.msg === 'serving');
  await watcher.waitFor((r) => r.msg === 'synced: listed namespaces, sources and workloads', 60_000);
  await watcher.waitFor((r) => r.msg === 'leading: reconciling every workload (restart sync)', 30_000);
  await eventually('the API server calls the webhook for team-a', async () => ((await dryRunStamp(IN)) !== undefined ? true : undefined), 30_000, 200);
  t.equal(await dryRunStamp(OUT), undefined, 'and not for team-b');
});

t.test('in scope: stamped at creation, one ReplicaSet, one rollout per consumed change', async (t) => {
  const replicaSets = (ns: string): Promise<number> => rolloutCount(admin, ns, 'Deployment', 'web');
  for (const ns of [IN, OUT]) {
    await apply(cluster, ns, [configMap('cfg', { used: '1' }), secret('sec', { password: 'one' })]);
    await apply(cluster, ns, [deployment('web', { configMap: 'cfg', key: 'used', secret: 'sec' })]);
  }
  t.match(
    (await annotationsOf(admin, `/apis/apps/v1/namespaces/${IN}/deployments/web`)).template[STAMP],
    /^v1:configmap\/cfg=[0-9a-f]{16},secret\/sec=/,
    'team-a: stamped by the webhook',
  );
  t.notOk((await annotationsOf(admin, `/apis/apps/v1/namespaces/${OUT}/deployments/web`)).template[STAMP], 'team-b: not stamped');
  await eventually('first ReplicaSets', async () => ((await replicaSets(IN)) >= 1 && (await replicaSets(OUT)) >= 1 ? true : undefined));
  await sleep(1_500);
  t.equal(await replicaSets(IN), 1, 'team-a: exactly 1 ReplicaSet');
  for (const ns of [IN, OUT]) await apply(cluster, ns, [configMap('cfg', { used: '2' })]);
  await eventually('the rollout in team-a', async () => ((await replicaSets(IN)) === 2 ? true : undefined));
  await sleep(2_000);
  t.equal(await replicaSets(IN), 2, 'team-a: one rollout');
  t.equal(await replicaSets(OUT), 1, 'team-b: out of scope, nothing rolls');
  t.notOk((await annotationsOf(admin, `/apis/apps/v1/namespaces/${OUT}/deployments/web`)).own['configstamp.io/adopted-stamp'], 'team-b: not even adopted');
});

/** The HTTP status of a GET by `client` (200 when it succeeds). */
async function statusOf(client: KubeClient, apiPath: string): Promise<number | string> {
  try {
    await client.request('GET', apiPath);
    return 200;
  } catch (err) {
    return err instanceof KubeApiError ? err.status : String(err);
  }
}

t.test('outside the scope the shipped accounts get a real 403', async (t) => {
  for (const [account, client] of Object.entries(clients)) {
    t.equal(await statusOf(client, `/api/v1/namespaces/${IN}/configmaps/cfg`), 200, `control: ${account} reads a ConfigMap in team-a`);
    t.equal(await statusOf(client, `/api/v1/namespaces/${OUT}/configmaps/cfg`), 403, `${account}: a ConfigMap in team-b is 403`);
    t.equal(await statusOf(client, '/api/v1/configmaps'), 403, `${account}: ConfigMaps cluster-wide are 403`);
    t.equal(await statusOf(client, '/api/v1/namespaces'), 403, `${account}: Namespaces are 403`);
  }
  t.equal(await statusOf(clients.watcher, `/apis/apps/v1/namespaces/${OUT}/deployments`), 403, 'watcher: Deployments in team-b are 403');
  t.equal(await statusOf(clients.watcher, `/apis/apps/v1/namespaces/${IN}/deployments`), 200, 'control: and allowed in team-a');
});

t.test('no process asked outside its scope: no forbidden/403 in any log line', async (t) => {
  for (const [name, proc] of Object.entries({ certs, webhook, watcher })) {
    t.ok(proc.lines.length > 0, `configstamp ${name} logged`);
    t.same(
      proc.lines.filter((line) => /forbidden|\b403\b/i.test(line)),
      [],
      `configstamp ${name}: no forbidden/403`,
    );
  }
});
