// The webhook on a real control plane, part two (issue 4, scenarios 6 and 7 and the failure
// modes): it serves and fails open while its hash key is missing, then picks the key up without
// a restart; it stamps every kind; a rotated serving certificate is taken without a restart or a
// dropped connection; with the process gone every apply still succeeds, unstamped; and a Secret
// canary never leaks into its logs, warnings, metrics or annotations.
import t from 'tap';
import { randomBytes, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { issueServingCertificate } from '../../certs/pki.js';
import { Ours } from '../../shared/core/annotations.js';
import { parseStamp } from '../../shared/core/stamp.js';
import { KubeClient } from '../../shared/kube/client.js';
import { ensureHashKey } from '../../shared/kube/hashkey.js';
import { freshNamespace, withControlPlane } from '../cluster/fixtures.js';
import { eventually, sleep } from '../support/poll.js';
import { controllerRevisionsOf } from '../support/rollouts.js';
import { registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';

const cluster = await withControlPlane(t);
const client = await KubeClient.create(cluster.access, 'configstamp-e2e');
t.teardown(() => client.close());
await cluster.kubectl(['create', 'namespace', 'configstamp']);
const { key } = await ensureHashKey(client, { namespace: 'configstamp', name: 'configstamp-hash-key' });
// The webhook is pointed at a key Secret that does not exist yet.
const webhook = await startWebhookProcess(cluster, ['--hash-key-secret=late-key', '--hash-key-retry=300ms', '--cert-poll-interval=500ms']);
t.teardown(() => webhook.process.stop());
await registerWebhook(cluster, webhook.port, webhook.caPem);
const ns = await freshNamespace(t, cluster, 'whl');
const canary = `canary-${randomBytes(12).toString('hex')}`;
const kubectlStderr: string[] = [];
await cluster.kubectl(['create', 'secret', 'generic', 'app-secret', '-n', ns, `--from-literal=PASSWORD=${canary}`]);

type Obj = { metadata?: { annotations?: Record<string, string> }; spec?: Record<string, unknown> };

function podTemplate(): Record<string, unknown> {
  return {
    metadata: { labels: { app: 'a' } },
    spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'registry.invalid/a:1', envFrom: [{ secretRef: { name: 'app-secret' } }] }] },
  };
}

const tracked = { annotations: { [Ours.track]: 'true' } };
const manifests: Record<string, (name: string) => Record<string, unknown>> = {
  Deployment: (name) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, ...tracked },
    spec: { selector: { matchLabels: { app: 'a' } }, template: podTemplate() },
  }),
  StatefulSet: (name) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns, ...tracked },
    spec: { serviceName: name, selector: { matchLabels: { app: 'a' } }, template: podTemplate() },
  }),
  DaemonSet: (name) => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: ns, ...tracked },
    spec: { selector: { matchLabels: { app: 'a' } }, template: podTemplate() },
  }),
  CronJob: (name) => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: ns, ...tracked },
    spec: {
      schedule: '0 0 * * *',
      jobTemplate: { spec: { template: { ...podTemplate(), spec: { ...(podTemplate().spec as object), restartPolicy: 'OnFailure' } } } },
    },
  }),
  Rollout: (name) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: ns, ...tracked },
    spec: { selector: { matchLabels: { app: 'a' } }, template: podTemplate() },
  }),
};

async function apply(object: unknown): Promise<{ stderr: string; ms: number }> {
  const started = performance.now();
  const result = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object) });
  kubectlStderr.push(result.stderr);
  if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
  return { stderr: result.stderr, ms: performance.now() - started };
}

async function stampOf(kind: string, name: string): Promise<string | undefined> {
  const out = await cluster.kubectl(['get', kind.toLowerCase(), name, '-n', ns, '-o', 'json']);
  const obj = JSON.parse(out.stdout) as Obj;
  const template =
    kind === 'CronJob' ? (obj.spec?.jobTemplate as { spec?: { template?: Obj } } | undefined)?.spec?.template : (obj.spec?.template as Obj | undefined);
  return template?.metadata?.annotations?.[Ours.stamp];
}

t.test('without its hash key the webhook still serves and fails open with a warning, then loads the key in the background', async (t) => {
  const { stderr } = await apply(manifests.Deployment!('early'));
  t.match(stderr, /Warning: configstamp: not stamped \(CS_ERR_HASH_KEY/, 'kubectl shows why');
  t.equal(await stampOf('Deployment', 'early'), undefined, 'allowed unchanged');
  const failures = webhook.process.records().filter((r) => r.msg === 'admission failed open' && r.name === 'early');
  t.equal(failures.length, 1, 'one log line for the failure');
  t.match(await webhook.metrics(), /configstamp_webhook_failures_total\{code="CS_ERR_HASH_KEY"\} [1-9]/);
  t.match(await webhook.metrics(), /configstamp_webhook_hash_key_loaded 0/);

  await client.request('POST', '/api/v1/namespaces/configstamp/secrets', {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late-key', namespace: 'configstamp' }, data: { key: Buffer.from(key).toString('base64') } },
  });
  await webhook.process.waitFor((r) => r.msg === 'hash key loaded', 10_000);
  await apply(manifests.Deployment!('late'));
  t.ok(parseStamp(await stampOf('Deployment', 'late')), 'stamped once the key is there, no restart');
});

t.test('6. StatefulSet, DaemonSet, CronJob and an Argo Rollout (CRD installed) are stamped', async (t) => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'rollouts.argoproj.io' },
    spec: {
      group: 'argoproj.io',
      scope: 'Namespaced',
      names: { kind: 'Rollout', plural: 'rollouts', singular: 'rollout', listKind: 'RolloutList' },
      versions: [
        { name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
      ],
    },
  };
  await apply(crd);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd/rollouts.argoproj.io', '--timeout=30s']);
  for (const kind of ['StatefulSet', 'DaemonSet', 'CronJob', 'Rollout']) {
    const name = `k-${kind.toLowerCase()}`;
    // A fresh CRD's REST mapping reaches kubectl's discovery a moment later: retry the apply.
    await eventually(`kubectl apply of a ${kind}`, async () => (await apply(manifests[kind]!(name)), true), 30_000, 500);
    const stamp = await stampOf(kind, name);
    t.same(
      parseStamp(stamp)?.map((e) => `${e.kind}/${e.name}`),
      ['Secret/app-secret'],
      `${kind} stamped: ${stamp}`,
    );
  }
  for (const kind of ['StatefulSet', 'DaemonSet'] as const) {
    await eventually(`${kind} revision`, async () =>
      (await controllerRevisionsOf(client, ns, kind, `k-${kind.toLowerCase()}`)).length > 0 ? true : undefined,
    );
    await sleep(1_000);
    t.equal((await controllerRevisionsOf(client, ns, kind, `k-${kind.toLowerCase()}`)).length, 1, `${kind}: one revision, not two`);
  }
});

t.test('a rotated serving certificate is used without a restart, and an open connection survives', async (t) => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: webhook.caPem });
  t.teardown(() => agent.destroy());
  const peer = (): Promise<{ fingerprint: string | undefined; socket: TLSSocket }> =>
    new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: webhook.port, path: '/readyz', agent }, (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
        res.resume().on('end', () => resolve({ fingerprint, socket }));
      });
      req.on('error', reject);
    });
  const before = await peer();
  t.ok(before.fingerprint, 'first connection sees the first certificate');
  const next = issueServingCertificate(webhook.ca, { ipAddresses: ['127.0.0.1'] });
  writeFileSync(webhook.keyFile, next.keyPem);
  writeFileSync(webhook.certFile, next.certPem);
  await webhook.process.waitFor((r) => r.msg === 'serving certificate reloaded', 10_000);
  const reused = await peer();
  t.equal(reused.socket, before.socket, 'the kept-alive connection is still open and used');
  const fresh = await new Promise<string>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: webhook.port, path: '/readyz', ca: webhook.caPem, agent: false }, (res) => {
        resolve((res.socket as TLSSocket).getPeerX509Certificate()!.fingerprint256);
        res.resume();
      })
      .on('error', reject);
  });
  t.equal(fresh, new X509Certificate(next.certPem).fingerprint256, 'a new connection gets the new certificate');
  t.not(fresh, before.fingerprint);
  await apply(manifests.Deployment!('after-rotation'));
  t.ok(parseStamp(await stampOf('Deployment', 'after-rotation')), 'the API server still reaches it');
});

t.test('7. with the webhook process stopped every kubectl apply still succeeds, unstamped', async (t) => {
  const metrics = await webhook.metrics();
  const logs = webhook.process.lines.join('\n');
  t.equal(await webhook.process.stop(), 0, 'clean exit on SIGTERM');
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Rollout']) {
    const { ms } = await apply(manifests[kind]!(`down-${kind.toLowerCase()}`));
    t.equal(await stampOf(kind, `down-${kind.toLowerCase()}`), undefined, `${kind} admitted unstamped (${Math.round(ms)} ms)`);
  }

  // 8, here too: warnings and failure logs exist in this file.
  const everything = await cluster.kubectl(['get', 'all,secrets,configmaps,cronjobs,rollouts,controllerrevisions', '-n', ns, '-o', 'json']);
  const annotations = JSON.stringify((JSON.parse(everything.stdout) as { items: Obj[] }).items.map((i) => [i.metadata?.annotations, i.spec]));
  for (const [where, text] of Object.entries({ logs, warnings: kubectlStderr.join('\n'), metrics, annotations })) {
    t.notOk(text.includes(canary), `no canary in ${where}`);
    t.notOk(text.includes(Buffer.from(canary).toString('base64').slice(0, 16)), `no base64 canary in ${where}`);
  }
});
