/**
 * kube-apiserver on 127.0.0.1 with TLS, client-certificate authentication and RBAC, as a real
 * cluster runs it, minus the parts a one-node test never exercises (no cloud provider, no
 * kubelet). Admission plugins are the release's defaults, so MutatingAdmissionWebhook is on.
 *
 * The port is chosen by the caller and kept across restarts, so clients built before an outage
 * reconnect to the same URL after it.
 */
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { httpGet, waitFor, type TlsClient } from './readiness.js';
import { supervise, type Supervised } from './supervise.js';
import type { WorkDir } from './workdir.js';

/** The in-cluster Service network; the `kubernetes` Service gets its first address. */
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/24';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ApiServerSettings {
  readonly binDir: string;
  readonly dir: WorkDir;
  readonly etcdUrl: string;
  readonly port: number;
  /** Appended after the defaults, so a test may override any of them (the last flag wins). */
  readonly extraArgs?: readonly string[];
}

export function apiServerArgs(s: ApiServerSettings): string[] {
  return [
    `--etcd-servers=${s.etcdUrl}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${s.port}`,
    // A loopback advertise address is refused, and a machine without a default route has no
    // default to fall back on: take a real interface address, else a TEST-NET-1 address.
    // Nothing connects to it in a cluster without nodes.
    `--advertise-address=${advertiseAddress()}`,
    `--cert-dir=${s.dir.pki}`, // serves pki/apiserver.crt and pki/apiserver.key
    `--client-ca-file=${s.dir.caCert}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${s.dir.serviceAccountPub}`,
    `--service-account-signing-key-file=${s.dir.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
    '--profiling=false',
    ...(s.extraArgs ?? []),
  ];
}

/** Starts kube-apiserver and waits until /readyz answers 200. */
export async function startApiServer(s: ApiServerSettings, admin: TlsClient, timeoutMs = 60_000): Promise<Supervised> {
  const component = supervise({
    name: 'kube-apiserver',
    command: join(s.binDir, 'kube-apiserver'),
    args: apiServerArgs(s),
    logPath: s.dir.log('kube-apiserver'),
  });
  const ready = async () => (await httpGet(`https://127.0.0.1:${s.port}/readyz`, admin)).status === 200;
  try {
    await waitFor('kube-apiserver /readyz', ready, { timeoutMs, component });
  } catch (err) {
    await component.stop();
    throw err;
  }
  return component;
}

function advertiseAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '192.0.2.1';
}
