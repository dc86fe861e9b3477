/**
 * Where the certificates live: the CA (certificate and key) in one Secret that only the certs
 * step reads, the serving certificate and the trust bundle in the kubernetes.io/tls Secret the
 * webhook mounts, so a webhook pod never holds the CA key. Also the caBundle of the
 * MutatingWebhookConfiguration, and local files for a webhook run outside a cluster.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeApi } from '../shared/kube/client.js';
import { sourcePath } from '../shared/kube/paths.js';
import { ConfigstampError, ErrorCodes } from '../shared/errors.js';
import type { TlsMaterial } from './rotation.js';
import { splitPemBundle } from './rotation.js';

export interface StoreNames {
  readonly namespace: string;
  readonly caSecret: string;
  readonly tlsSecret: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (value: unknown): string => (typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '');

type SecretBody = { data?: Record<string, string>; metadata?: { resourceVersion?: string } };

export async function readMaterial(client: KubeApi, names: StoreNames): Promise<TlsMaterial | null> {
  const ca = await client.getOrNull<SecretBody>(sourcePath('Secret', names.namespace, names.caSecret));
  const tls = await client.getOrNull<SecretBody>(sourcePath('Secret', names.namespace, names.tlsSecret));
  if (ca === null) return null;
  return {
    caCertPem: unb64(ca.data?.['ca.crt']),
    caKeyPem: unb64(ca.data?.['ca.key']),
    certPem: unb64(tls?.data?.['tls.crt']),
    keyPem: unb64(tls?.data?.['tls.key']),
    bundlePem: splitPemBundle(unb64(tls?.data?.['ca.crt'])),
  };
}

/** Creates or replaces a Secret with exactly this data. */
async function putSecret(client: KubeApi, namespace: string, name: string, type: string, data: Record<string, string>): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'configstamp' } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
  const existing = await client.getOrNull<SecretBody>(sourcePath('Secret', namespace, name));
  const query = { fieldManager: 'configstamp' };
  if (existing === null) await client.request('POST', sourcePath('Secret', namespace), { body, query });
  else {
    const guarded = { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } };
    await client.request('PUT', sourcePath('Secret', namespace, name), { body: guarded, query });
  }
}

export async function writeCa(client: KubeApi, names: StoreNames, m: TlsMaterial): Promise<void> {
  await putSecret(client, names.namespace, names.caSecret, 'Opaque', { 'ca.crt': m.caCertPem, 'ca.key': m.caKeyPem });
}

export async function writeServing(client: KubeApi, names: StoreNames, m: TlsMaterial): Promise<void> {
  await putSecret(client, names.namespace, names.tlsSecret, 'kubernetes.io/tls', {
    'tls.crt': m.certPem,
    'tls.key': m.keyPem,
    'ca.crt': m.bundlePem.join('\n'),
  });
}

const WEBHOOK_CONFIG_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

/**
 * Sets the caBundle of every webhook in the configuration; answers whether it wrote. The patch
 * is guarded by resourceVersion, so a concurrent edit fails loudly instead of being lost.
 */
export async function injectCaBundle(client: KubeApi, configName: string, bundlePem: readonly string[]): Promise<boolean> {
  const config = await client.getOrNull<{ metadata?: { resourceVersion?: string }; webhooks?: { clientConfig?: { caBundle?: string } }[] }>(
    `${WEBHOOK_CONFIG_PATH}/${encodeURIComponent(configName)}`,
  );
  if (config === null) {
    throw new ConfigstampError(ErrorCodes.CONFIG, `MutatingWebhookConfiguration ${configName} not found: apply deploy/ first, or pass --webhook-config ""`);
  }
  const bundle = b64(bundlePem.join('\n'));
  const webhooks = config.webhooks ?? [];
  if (webhooks.every((w) => w.clientConfig?.caBundle === bundle)) return false;
  const ops: unknown[] = [{ op: 'test', path: '/metadata/resourceVersion', value: config.metadata?.resourceVersion }];
  webhooks.forEach((_, i) => ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle }));
  await client.request('PATCH', `${WEBHOOK_CONFIG_PATH}/${encodeURIComponent(configName)}`, {
    body: ops,
    contentType: 'application/json-patch+json',
    query: { fieldManager: 'configstamp' },
  });
  return true;
}

/** Writes tls.crt, tls.key and ca.crt into a directory, each file replaced atomically. */
export async function writeFiles(dir: string, m: TlsMaterial): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['tls.key', m.keyPem],
    ['tls.crt', m.certPem],
    ['ca.crt', m.bundlePem.join('\n')],
  ];
  for (const [name, content] of files) {
    const target = path.join(dir, name);
    await writeFile(`${target}.tmp`, content, { mode: 0o600 });
    await rename(`${target}.tmp`, target);
  }
}
