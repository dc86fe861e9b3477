/**
 * The shipped install on a control plane without a node, for tests that run configstamp's
 * processes under the shipped ServiceAccounts: a kustomize directory applied with the real kubectl,
 * the Deployments scaled to zero and the certs Job and CronJob removed (nothing would run them),
 * the webhook configuration pointed at a loopback port (its rules, namespaceSelector and failure
 * policy stay as shipped), and a kubeconfig per ServiceAccount, minted through TokenRequest as a
 * kubelet would mount it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ControlPlane } from '../cluster/controlplane.js';
import type { TeardownTarget } from '../cluster/fixtures.js';
import { kubectlOk as kubectl } from '../cluster/kubectl.js';
import { freeLoopbackPort } from '../cluster/ports.js';

export const INSTALL_NAMESPACE = 'configstamp';
export const ACCOUNTS = { certs: 'configstamp-certs', webhook: 'configstamp-webhook', watcher: 'configstamp-watcher' } as const;

export interface ShippedInstall {
  /** The loopback port the API server now calls the webhook on. */
  readonly port: number;
  /** The webhook configuration as shipped (before the clientConfig patch). */
  readonly shipped: { readonly webhooks: readonly { readonly namespaceSelector?: unknown }[] };
  readonly kubeconfigs: { readonly [K in keyof typeof ACCOUNTS]: Awaited<ReturnType<ControlPlane['serviceAccountKubeconfig']>> };
  /** A temporary directory (removed at teardown) for `configstamp certs --out-dir`. */
  readonly outDir: string;
}

export async function installShipped(t: TeardownTarget, cluster: ControlPlane, kustomizeDir: string): Promise<ShippedInstall> {
  await kubectl(cluster, ['apply', '--server-side', '-k', kustomizeDir]);
  await kubectl(cluster, ['-n', INSTALL_NAMESPACE, 'scale', 'deployment', 'configstamp-webhook', 'configstamp-watcher', '--replicas=0']);
  await kubectl(cluster, ['-n', INSTALL_NAMESPACE, 'delete', 'job/configstamp-certs', 'cronjob/configstamp-certs', '--wait=false']);
  const port = await freeLoopbackPort();
  const shipped = JSON.parse(await kubectl(cluster, ['get', 'mutatingwebhookconfiguration', 'configstamp', '-o', 'json'])) as ShippedInstall['shipped'];
  const clientConfig = { url: `https://127.0.0.1:${port}/mutate` };
  const patch = shipped.webhooks.map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig`, value: clientConfig }));
  await kubectl(cluster, ['patch', 'mutatingwebhookconfiguration', 'configstamp', '--type=json', '-p', JSON.stringify(patch)]);
  const kubeconfigs = {
    certs: await cluster.serviceAccountKubeconfig(INSTALL_NAMESPACE, ACCOUNTS.certs),
    webhook: await cluster.serviceAccountKubeconfig(INSTALL_NAMESPACE, ACCOUNTS.webhook),
    watcher: await cluster.serviceAccountKubeconfig(INSTALL_NAMESPACE, ACCOUNTS.watcher),
  };
  const outDir = mkdtempSync(path.join(tmpdir(), 'configstamp-shipped-e2e-'));
  t.teardown(() => rmSync(outDir, { recursive: true, force: true }));
  return { port, shipped, kubeconfigs, outDir };
}
