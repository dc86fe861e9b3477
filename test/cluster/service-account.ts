/**
 * Kubeconfigs that act as a ServiceAccount, for tests of what configstamp may and may not do
 * under its own RBAC. The credential is a bound token minted through the TokenRequest API (the
 * way a kubelet gets one for a pod), so the API server authenticates it exactly as it would a
 * token mounted in configstamp's pod: user system:serviceaccount:NS:NAME, groups
 * system:serviceaccounts and system:serviceaccounts:NS.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { join } from 'node:path';
import type { ClusterAccess } from '../../shared/kube/access.js';
import { loadKubeConfig } from '../../shared/kube/kubeconfig.js';
import { writeKubeconfig } from './kubeconfig.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface ServiceAccountKubeconfig {
  readonly path: string;
  /** Loaded by @kubernetes/client-node, for its generated API clients. */
  readonly kubeConfig: KubeConfig;
  /** Loaded by configstamp's own loader, for KubeClient.create. */
  readonly access: ClusterAccess;
}

export interface ServiceAccountContext {
  readonly admin: KubeConfig;
  readonly server: string;
  readonly caPem: string;
  /** Directory the kubeconfig file is written to. */
  readonly dir: string;
}

/**
 * Creates the ServiceAccount if it does not exist, mints a one-hour token for it, and writes a
 * kubeconfig using it (default namespace = the ServiceAccount's).
 */
export async function serviceAccountKubeconfig(ctx: ServiceAccountContext, namespace: string, name: string): Promise<ServiceAccountKubeconfig> {
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) throw new TypeError(`invalid namespace ${JSON.stringify(namespace)}`);
  if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name)) throw new TypeError(`invalid ServiceAccount name ${JSON.stringify(name)}`);
  const core = ctx.admin.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name, namespace } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tokenRequest.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const path = join(ctx.dir, `sa-${namespace}-${name}.kubeconfig`);
  const kubeConfig = writeKubeconfig(path, {
    server: ctx.server,
    caPem: ctx.caPem,
    name: `sa-${namespace}-${name}`,
    user: { token },
    namespace,
  });
  return { path, kubeConfig, access: await loadKubeConfig(path, { env: {} }) };
}
