/**
 * Reloader's outbound settings on a real control plane, with the watcher as a real process and
 * real local HTTPS receivers (trusted through NODE_EXTRA_CA_CERTS, as an operator would):
 * - alerts (ALERT_WEBHOOK_URL, ALERT_SINK=slack, ALERT_ADDITIONAL_INFO): one message per
 *   rollout naming the workload and the changed source, never a value; a receiver answering 500
 *   first is retried, and the rollout is not held up by it;
 * - notify mode (--webhook-url): Reloader v2's body per change, nothing rolls, and across a
 *   watcher restart nothing is sent twice and a change made while it was down is sent once.
 */
import t from 'tap';
import https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCertificateAuthority, issueServingCertificate } from '../../certs/pki.js';
import { eventually, sleep } from '../support/poll.js';
import { startConfigstamp } from '../support/process.js';
import { apply, configMap, createNamespace, deployment, rolloutCount, secret, startCluster } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');

const dir = mkdtempSync(path.join(tmpdir(), 'configstamp-notify-e2e-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ca = createCertificateAuthority({ commonName: 'receiver-ca' });
const serving = issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'] });
const caFile = path.join(dir, 'ca.pem');
writeFileSync(caFile, ca.certPem);

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

/** A local HTTPS receiver; `fail` requests (counted from the first) are answered 500. */
async function receiver(fail = 0): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  let n = 0;
  const server = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (n++ < fail) return void res.writeHead(500).end();
      received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/token`, received };
}

const SECRET_VALUE = 'alert-canary-7f3e9b';

t.test('alerts: one Slack message per rollout, names only, retried past a 500', async (t) => {
  const ns = await createNamespace(cluster, 'alerts');
  const slack = await receiver(1);
  const alerting = await startWatcherWithEnv(['--lease-name=alerts', `--namespaces=${ns}`], {
    ALERT_ON_RELOAD: 'true',
    ALERT_SINK: 'slack',
    ALERT_WEBHOOK_URL: slack.url,
    ALERT_ADDITIONAL_INFO: 'cluster eu-1',
    NODE_EXTRA_CA_CERTS: caFile,
  });
  t.teardown(() => alerting.stop());
  await apply(cluster, ns, [configMap('app', { level: 'info' }), secret('db', { password: SECRET_VALUE })]);
  await apply(cluster, ns, [deployment('web', { configMap: 'app', secret: 'db' })]);
  const before = await eventually('first ReplicaSet', async () => ((await rolloutCount(client, ns, 'Deployment', 'web')) >= 1 ? 1 : undefined));
  await adopted(ns, 'web');
  await apply(cluster, ns, [secret('db', { password: `${SECRET_VALUE}-2` })]);
  await eventually('rolled', async () => ((await rolloutCount(client, ns, 'Deployment', 'web')) === before + 1 ? true : undefined));
  await eventually('the alert arrived after one 500', async () => (slack.received.length >= 1 ? true : undefined));
  await sleep(1_500);
  t.equal(slack.received.length, 1, 'one alert for one rollout');
  const body = JSON.parse(slack.received[0]!.body) as { attachments: { text: string; author_name: string }[] };
  t.equal(slack.received[0]!.contentType, 'application/json');
  t.match(
    body.attachments[0]!.text,
    /^cluster eu-1\nconfigstamp triggered a rollout\n\*Workload:\* alerts\/web \(Deployment\)\n\*Resource:\* alerts\/db \(Secret\)\n\*Time:\* \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
  );
  t.notMatch(slack.received[0]!.body, SECRET_VALUE, 'no Secret value in the alert');
  t.notMatch(alerting.lines.join('\n'), /T000\/B000\/token|alert-canary/, 'neither the receiver URL (it holds a token) nor the value is logged');
});

t.test('notify mode: Reloader v2 bodies instead of rollouts, once each, across a restart', async (t) => {
  const ns = await createNamespace(cluster, 'notify');
  const hook = await receiver();
  const flags = [`--namespaces=${ns}`, '--lease-name=notify', `--webhook-url=${hook.url}`];
  const env = { NODE_EXTRA_CA_CERTS: caFile };
  let watcher = await startWatcherWithEnv(flags, env);
  await apply(cluster, ns, [configMap('app', { level: 'info' })]);
  await apply(cluster, ns, [deployment('web', { configMap: 'app' }, { 'reloader.stakater.com/auto': 'true' })]);
  const before = await eventually('first ReplicaSet', async () => ((await rolloutCount(client, ns, 'Deployment', 'web')) >= 1 ? 1 : undefined));
  await adopted(ns, 'web');
  await apply(cluster, ns, [configMap('app', { level: 'debug' })]);
  await eventually('notified', async () => (hook.received.length >= 1 ? true : undefined));
  t.match(JSON.parse(hook.received[0]!.body), {
    kind: 'configmap',
    namespace: ns,
    resourceName: 'app',
    resourceType: 'configmap',
    hash: /^[0-9a-f]{16}$/,
    timestamp: /^\d{4}-/,
    workloads: [{ kind: 'Deployment', name: 'web', namespace: ns }],
  });
  await watcher.stop();
  watcher = await startWatcherWithEnv(flags, env);
  await sleep(1_500);
  t.equal(hook.received.length, 1, 'a restart sends nothing again');
  await watcher.stop();
  await apply(cluster, ns, [configMap('app', { level: 'warn' })]);
  watcher = await startWatcherWithEnv(flags, env);
  t.teardown(() => watcher.stop());
  await eventually('the change made while down, notified at boot', async () => (hook.received.length >= 2 ? true : undefined));
  await sleep(1_500);
  t.equal(hook.received.length, 2, 'once');
  t.equal(await rolloutCount(client, ns, 'Deployment', 'web'), before, 'nothing rolled in notify mode');
});

/** Waits until the watcher recorded the Deployment's digests on its metadata (no webhook here). */
async function adopted(ns: string, name: string): Promise<void> {
  await eventually(`${name} adopted`, async () =>
    (await client.request<{ metadata: { annotations?: Record<string, string> } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).metadata
      .annotations?.['configstamp.io/adopted-stamp']
      ? true
      : undefined,
  );
}

/** A watcher with environment variables (Reloader's), started as startWatcher does. */
async function startWatcherWithEnv(flags: readonly string[], env: Record<string, string>): Promise<{ stop(): Promise<void>; lines: string[] }> {
  const proc = startConfigstamp(
    [
      'watcher',
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '--namespace=configstamp',
      '--debounce=300ms',
      '--health-port=0',
      '--health-host=127.0.0.1',
      '--lease-duration=2s',
      '--renew-deadline=1500ms',
      '--retry-period=250ms',
      '--min-rollout-interval=0',
      ...flags,
    ],
    env,
  );
  await proc.waitFor((r) => r.msg === 'synced: listed namespaces, sources and workloads', 60_000);
  await proc.waitFor((r) => r.msg === 'leading: reconciling every workload (restart sync)', 30_000);
  return { stop: async () => void (await proc.stop()), lines: proc.lines };
}
