/** Loads the kubeconfig a process was given (or the in-cluster one) and makes a client. */
import { KubeClient } from './client.js';
import type { Env } from './kubeconfig.js';
import { loadKubeConfig } from './kubeconfig.js';

/** `kubeconfigPath` empty means in-cluster; `env` is the process's (KUBERNETES_SERVICE_HOST/PORT). */
export async function connect(kubeconfigPath: string, userAgent: string, env: Env): Promise<KubeClient> {
  return KubeClient.create(await loadKubeConfig(kubeconfigPath, { env }), userAgent);
}
