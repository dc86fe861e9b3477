/** Loads the kubeconfig a process was given (or the in-cluster one) and makes a client. */
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigstampError, ErrorCodes, errorMessage } from '../errors.js';
import { KubeClient } from './client.js';

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromCluster();
  } catch (err) {
    throw new ConfigstampError(ErrorCodes.KUBECONFIG, `loading kubeconfig ${path || '(in-cluster)'}: ${errorMessage(err)}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) {
    throw new ConfigstampError(ErrorCodes.KUBECONFIG, `kubeconfig ${path || '(in-cluster)'} has no current cluster`);
  }
  return kc;
}

export async function connect(kubeconfigPath: string, userAgent: string): Promise<KubeClient> {
  return KubeClient.create(loadKubeConfig(kubeconfigPath), userAgent);
}
