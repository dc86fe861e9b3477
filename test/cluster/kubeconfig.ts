/**
 * Self-contained kubeconfigs: CA, client certificate and key (or token) embedded as data, so a
 * file can be copied, pasted into KUBECONFIG, or loaded from a string by @kubernetes/client-node
 * without any other file alongside it.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export type KubeconfigUser = { readonly certPem: string; readonly keyPem: string } | { readonly token: string };

export interface KubeconfigSpec {
  readonly server: string;
  readonly caPem: string;
  /** Names the cluster, user and context; e.g. "configstamp-admin". */
  readonly name: string;
  readonly user: KubeconfigUser;
  readonly namespace?: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The kubeconfig as YAML text. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const user =
    'token' in spec.user ? { token: spec.user.token } : { 'client-certificate-data': b64(spec.user.certPem), 'client-key-data': b64(spec.user.keyPem) };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: spec.name, cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caPem) } }],
    users: [{ name: spec.name, user }],
    contexts: [{ name: spec.name, context: { cluster: spec.name, user: spec.name, ...(spec.namespace ? { namespace: spec.namespace } : {}) } }],
    'current-context': spec.name,
  });
}

/** Writes the kubeconfig (mode 0600: it holds a key or token) and returns it loaded. */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): KubeConfig {
  const text = renderKubeconfig(spec);
  writeFileSync(path, text, { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(text);
  return kubeConfig;
}
