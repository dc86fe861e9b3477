// `configstamp certs` against the real control plane: it creates the CA, the serving certificate
// and the hash key, injects the caBundle, is idempotent, and rotates the CA while admissions flow
// through the real API server without one of them failing (failurePolicy is Ignore, so a failed
// call shows as an unstamped workload: every workload created during the rotation must be stamped).
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeClient } from '../../shared/kube/client.js';
import { splitPemBundle, subjectAltNames } from '../../certs/rotation.js';
import { freshNamespace, withControlPlane } from '../cluster/fixtures.js';
import { kubectlOk } from '../cluster/kubectl.js';
import { freeLoopbackPort } from '../cluster/ports.js';
import { startConfigstamp } from '../support/process.js';
import { loopbackWebhookConfiguration, probeWebhook } from '../support/webhook-registration.js';
import { eventually } from '../support/poll.js';

const cluster = await withControlPlane(t);
const client = await KubeClient.create(cluster.access, 'configstamp-e2e');
t.teardown(() => client.close());
const outDir = mkdtempSync(path.join(tmpdir(), 'configstamp-certs-e2e-'));
const port = await freeLoopbackPort();

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(cluster, args, input);

async function runCerts(extra: string[] = []): Promise<Record<string, unknown>[]> {
  const proc = startConfigstamp([
    'certs',
    `--kubeconfig=${cluster.kubeconfigPath}`,
    '--extra-ip-addresses=127.0.0.1',
    `--out-dir=${outDir}`,
    '--trust-propagation=2s',
    ...extra,
  ]);
  const code = await proc.exited;
  if (code !== 0) throw new Error(`configstamp certs exited ${code}:\n${proc.lines.join('\n')}`);
  return proc.records();
}

type Secret = { data: Record<string, string>; metadata: { resourceVersion: string } };
const secret = (name: string): Promise<Secret> => client.request<Secret>('GET', `/api/v1/namespaces/configstamp/secrets/${name}`);
const text = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');
async function caBundle(): Promise<string[]> {
  const config = await client.request<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(
    'GET',
    '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/configstamp',
  );
  return splitPemBundle(text(config.webhooks[0]!.clientConfig.caBundle));
}

await kubectl(['create', 'namespace', 'configstamp']);
// The shipped configuration, pointed at loopback, with no caBundle yet: `certs` fills it in.
const config = loopbackWebhookConfiguration(port, '');
for (const hook of config.webhooks) delete hook.clientConfig.caBundle;
await kubectl(['apply', '-f', '-'], JSON.stringify(config));

t.test('first run: CA, serving certificate, hash key and caBundle', async (t) => {
  const records = await runCerts();
  t.ok(
    records.some((r) => r.msg === 'hash key created'),
    'hash key created',
  );
  const ca = await secret('configstamp-ca');
  const tls = await secret('configstamp-webhook-tls');
  const key = await secret('configstamp-hash-key');
  t.equal(Buffer.from(key.data.key!, 'base64').length, 32, '256-bit hash key');
  t.notOk('ca.key' in tls.data, 'the Secret the webhook mounts holds no CA key');
  const caCert = new X509Certificate(text(ca.data['ca.crt']));
  const leaf = new X509Certificate(text(tls.data['tls.crt']));
  t.ok(caCert.ca, 'a CA');
  t.ok(leaf.verify(caCert.publicKey), 'chain verifies');
  const sans = subjectAltNames(leaf);
  t.ok(sans.dns.includes('configstamp-webhook.configstamp.svc'), 'Service DNS name in the SANs');
  t.same(sans.ips, ['127.0.0.1'], 'extra IP in the SANs');
  const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
  t.ok(days > 364 && days < 366, `serving certificate valid for a year (${days.toFixed(1)} days)`);
  t.same(
    (await caBundle()).map((pem) => new X509Certificate(pem).fingerprint256),
    [caCert.fingerprint256],
    'caBundle is the CA',
  );
  t.equal(readFileSync(path.join(outDir, 'tls.crt'), 'utf8'), text(tls.data['tls.crt']), 'files match the Secret');
});

t.test('second run is idempotent: nothing rewritten', async (t) => {
  const before = await Promise.all(['configstamp-ca', 'configstamp-webhook-tls', 'configstamp-hash-key'].map(secret));
  const bundle = await caBundle();
  const records = await runCerts();
  t.ok(records.some((r) => r.msg === 'certificates are current'));
  const after = await Promise.all(['configstamp-ca', 'configstamp-webhook-tls', 'configstamp-hash-key'].map(secret));
  t.same(
    after.map((s) => s.metadata.resourceVersion),
    before.map((s) => s.metadata.resourceVersion),
    'Secrets untouched',
  );
  t.same(await caBundle(), bundle, 'caBundle untouched');
});

t.test('CA rotation while admissions flow: zero failed admissions', async (t) => {
  const webhook = startConfigstamp([
    'webhook',
    `--kubeconfig=${cluster.kubeconfigPath}`,
    '--host=127.0.0.1',
    `--port=${port}`,
    '--metrics-host=127.0.0.1',
    '--metrics-port=0',
    `--cert-file=${path.join(outDir, 'tls.crt')}`,
    `--key-file=${path.join(outDir, 'tls.key')}`,
    '--cert-poll-interval=500ms',
  ]);
  t.teardown(() => webhook.stop());
  await webhook.waitFor((r) => r.msg === 'serving');
  await eventually('the API server to call the webhook', async () => ((await probeWebhook(cluster)) ? true : undefined), 30_000, 200);
  const ns = await freshNamespace(t, cluster, 'certs');
  await kubectl(['create', 'configmap', 'cfg', '-n', ns, '--from-literal=k=v']);
  const oldCa = new X509Certificate(text((await secret('configstamp-ca')).data['ca.crt']));

  let stop = false;
  const created: string[] = [];
  const load = (async () => {
    for (let i = 0; !stop || i < 10; i++) {
      const name = `load-${i}`;
      await kubectl(
        ['create', '-n', ns, '-f', '-'],
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name, annotations: { 'configstamp.io/track': 'true' } },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'cfg' } }] }] },
            },
          },
        }),
      );
      created.push(name);
    }
  })();
  // ca-renew-before longer than the CA's life forces a new CA now.
  const records = await runCerts(['--ca-renew-before=87601h']);
  await webhook.waitFor((r) => r.msg === 'serving certificate reloaded', 30_000);
  stop = true;
  await load;

  t.ok(
    records.some((r) => r.msg === 'issuing certificates' && r.newCa === true),
    'a new CA was issued',
  );
  const bundle = (await caBundle()).map((pem) => new X509Certificate(pem));
  const newCa = new X509Certificate(text((await secret('configstamp-ca')).data['ca.crt']));
  t.not(newCa.fingerprint256, oldCa.fingerprint256, 'the CA changed');
  t.same(
    bundle.map((c) => c.fingerprint256),
    [newCa.fingerprint256, oldCa.fingerprint256],
    'bundle: new CA first, old kept for the overlap',
  );
  const leaf = new X509Certificate(readFileSync(path.join(outDir, 'tls.crt'), 'utf8'));
  t.ok(leaf.verify(newCa.publicKey), 'the webhook now serves a certificate of the new CA');

  t.ok(created.length >= 10, `${created.length} Deployments created during the rotation`);
  const list = await client.request<{ items: { metadata: { name: string }; spec: { template: { metadata: { annotations?: Record<string, string> } } } }[] }>(
    'GET',
    `/apis/apps/v1/namespaces/${ns}/deployments`,
  );
  const unstamped = list.items.filter((d) => !d.spec.template.metadata.annotations?.['configstamp.io/stamp']).map((d) => d.metadata.name);
  t.same(unstamped, [], 'every admission during the rotation reached the webhook and was stamped');
  t.ok(await probeWebhook(cluster), 'the API server still reaches the webhook after the rotation');
});
