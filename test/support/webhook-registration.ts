/**
 * Registers configstamp's webhook with a test control plane using the very manifest users
 * install (deploy/base/mutatingwebhookconfiguration.yaml: both entries, their namespaceSelectors
 * and matchConditions), with one change: the in-cluster `service` client config becomes
 * `url: https://127.0.0.1:PORT/mutate` plus the test CA as caBundle. Options render what the
 * chart renders for other settings (no matchConditions, renamed keys). The API server loads
 * webhook configurations through an informer, so registration is only done once a dry-run probe
 * comes back mutated.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createCertificateAuthority, issueServingCertificate } from '../../certs/pki.js';
import type { CertifiedKey } from '../../certs/pki.js';
import { eventually } from './poll.js';
import { startConfigstamp } from './process.js';
import type { ConfigstampProcess } from './process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEBHOOK_MANIFEST = path.join(ROOT, 'deploy/base/mutatingwebhookconfiguration.yaml');

interface WebhookEntry {
  name: string;
  clientConfig: { service?: unknown; url?: string; caBundle?: string };
  [field: string]: unknown;
}

export interface WebhookConfiguration {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [field: string]: unknown };
  webhooks: WebhookEntry[];
}

/** The shipped manifest, parsed afresh on every call. */
export function loadWebhookConfiguration(): WebhookConfiguration {
  return parse(readFileSync(WEBHOOK_MANIFEST, 'utf8')) as WebhookConfiguration;
}

export interface RegistrationOptions {
  /** false: no entry keeps its matchConditions, as the chart renders track-all or webhook.matchConditions=false. */
  readonly matchConditions?: boolean;
  /** Annotation keys renamed in the matchConditions (default key → renamed), as the chart renders reloader.custom_annotations. */
  readonly renamedKeys?: Readonly<Record<string, string>>;
}

/** The shipped manifest pointed at a webhook on loopback. */
export function loopbackWebhookConfiguration(port: number, caPem: string, options: RegistrationOptions = {}): WebhookConfiguration {
  const config = loadWebhookConfiguration();
  for (const hook of config.webhooks) {
    delete hook.clientConfig.service;
    hook.clientConfig.url = `https://127.0.0.1:${port}/mutate`;
    hook.clientConfig.caBundle = Buffer.from(caPem, 'utf8').toString('base64');
    const conditions = hook.matchConditions as { name: string; expression: string }[] | undefined;
    if (options.matchConditions === false) delete hook.matchConditions;
    for (const condition of options.matchConditions === false ? [] : (conditions ?? [])) {
      for (const [from, to] of Object.entries(options.renamedKeys ?? {})) {
        if (!condition.expression.includes(`'${from}'`)) throw new Error(`the shipped matchConditions do not name ${from}`);
        condition.expression = condition.expression.replace(`'${from}'`, `'${to}'`);
      }
    }
  }
  return config;
}

export interface Kubectl {
  kubectl(args: readonly string[], options?: { input?: string }): Promise<{ stdout: string; stderr: string; code: number | null }>;
}

const PROBE_NAMESPACE = 'default';

/** A tracked Deployment consuming a ConfigMap that need not exist: the webhook stamps it "absent". */
function probeDeployment(): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'configstamp-webhook-probe', namespace: PROBE_NAMESPACE, annotations: { 'configstamp.io/track': 'true' } },
    spec: {
      selector: { matchLabels: { app: 'probe' } },
      template: {
        metadata: { labels: { app: 'probe' } },
        spec: { containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'configstamp-webhook-probe', optional: true } }] }] },
      },
    },
  };
}

/**
 * Whether a server-side dry-run create of the probe was seen by the webhook: it comes back
 * stamped, or (while the webhook fails open, e.g. without its hash key) with its warning.
 */
export async function probeWebhook(cluster: Kubectl): Promise<boolean> {
  const result = await cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(probeDeployment()) });
  if (result.code !== 0) return false;
  if (result.stderr.includes('configstamp:')) return true;
  const created = JSON.parse(result.stdout) as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } };
  return created.spec?.template?.metadata?.annotations?.['configstamp.io/stamp'] !== undefined;
}

/**
 * Applies the loopback configuration with the real kubectl and waits until a probe is mutated.
 * Returns a function that deletes the configuration again.
 */
export async function registerWebhook(
  cluster: Kubectl,
  port: number,
  caPem: string,
  timeoutMs = 30_000,
  options: RegistrationOptions = {},
): Promise<() => Promise<void>> {
  const config = loopbackWebhookConfiguration(port, caPem, options);
  const applied = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(config) });
  if (applied.code !== 0) throw new Error(`kubectl apply of the webhook configuration failed: ${applied.stderr}`);
  await eventually('the API server to call the webhook', async () => ((await probeWebhook(cluster)) ? true : undefined), timeoutMs, 100);
  return async () => {
    await cluster.kubectl(['delete', 'mutatingwebhookconfiguration', config.metadata.name, '--ignore-not-found']);
  };
}

/** A CA and a serving certificate for 127.0.0.1, written where --cert-file/--key-file can read them. */
export function writeServingCertificate(dir?: string): { caPem: string; ca: CertifiedKey; certDir: string; certFile: string; keyFile: string } {
  const certDir = dir ?? mkdtempSync(path.join(tmpdir(), 'configstamp-webhook-tls-'));
  const ca = createCertificateAuthority({ commonName: 'configstamp-test-ca' });
  const serving = issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  const certFile = path.join(certDir, 'tls.crt');
  const keyFile = path.join(certDir, 'tls.key');
  writeFileSync(certFile, serving.certPem);
  writeFileSync(keyFile, serving.keyPem, { mode: 0o600 });
  return { caPem: ca.certPem, ca, certDir, certFile, keyFile };
}

export interface StartedWebhook {
  readonly process: ConfigstampProcess;
  readonly port: number;
  readonly metricsPort: number;
  readonly caPem: string;
  readonly ca: CertifiedKey;
  readonly certFile: string;
  readonly keyFile: string;
  /** GET /metrics from the plain-HTTP operations port. */
  metrics(): Promise<string>;
}

export interface WebhookCluster extends Kubectl {
  readonly kubeconfigPath: string;
}

/**
 * Starts `configstamp webhook` as a real process on loopback (ports picked by the process and
 * read from its "serving" log lines), with a fresh serving certificate. Does not register it.
 */
export async function startWebhookProcess(cluster: WebhookCluster, extraArgs: readonly string[] = []): Promise<StartedWebhook> {
  const tls = writeServingCertificate();
  const proc = startConfigstamp([
    'webhook',
    `--kubeconfig=${cluster.kubeconfigPath}`,
    '--host=127.0.0.1',
    '--port=0',
    '--metrics-host=127.0.0.1',
    '--metrics-port=0',
    `--cert-file=${tls.certFile}`,
    `--key-file=${tls.keyFile}`,
    ...extraArgs,
  ]);
  const serving = await proc.waitFor((r) => r.msg === 'serving');
  const ops = await proc.waitFor((r) => r.msg === 'ops serving');
  const metricsPort = Number(ops.port);
  return {
    process: proc,
    port: Number(serving.port),
    metricsPort,
    caPem: tls.caPem,
    ca: tls.ca,
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
  };
}
