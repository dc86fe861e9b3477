/**
 * The in-cluster config, as client-go's rest.InClusterConfig builds it: the API server from
 * KUBERNETES_SERVICE_HOST/PORT (an IPv6 address in brackets), trusted through the mounted
 * ServiceAccount CA, and the mounted token, which the kubelet rotates (access.ts re-reads it).
 */
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { kubeconfigError } from './settings.js';
import type { Env, KubeconfigSelection } from './settings.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Names the in-cluster config in errors, where a kubeconfig's path would be. */
export const IN_CLUSTER = '(in-cluster)';

/** The pod's own config, as client-go's rest.InClusterConfig builds it. */
export function inClusterSelection(env: Env, serviceAccountDir = SERVICE_ACCOUNT_DIR): KubeconfigSelection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw kubeconfigError(IN_CLUSTER, 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod?); pass --kubeconfig');
  }
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  if (!URL.canParse(server)) throw kubeconfigError(IN_CLUSTER, 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT do not make a URL');
  return {
    context: 'in-cluster',
    cluster: { server, ca: { file: join(serviceAccountDir, 'ca.crt') }, insecureSkipTlsVerify: false },
    user: { tokenFile: join(serviceAccountDir, 'token') },
  };
}
