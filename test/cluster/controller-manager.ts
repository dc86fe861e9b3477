/**
 * kube-controller-manager running only the controllers whose effects configstamp's tests observe:
 * Deployments make ReplicaSets (so rollouts can be counted), namespaces get their `default`
 * ServiceAccount (the ServiceAccount admission plugin rejects pods without it) and their
 * `kube-root-ca.crt` ConfigMap (as in every real cluster), deleted namespaces are emptied, and
 * owned objects are garbage-collected. No scheduler or kubelet runs, so pods stay Pending.
 *
 * Names are from cmd/kube-controller-manager/names/controller_names.go of the pinned release.
 */
import { join } from 'node:path';
import { supervise, type Supervised } from './supervise.js';
import type { WorkDir } from './workdir.js';

export const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'cronjob-controller',
  'job-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'namespace-controller',
  'garbage-collector-controller',
] as const;

export function controllerManagerArgs(dir: WorkDir, extraArgs: readonly string[] = []): string[] {
  return [
    `--kubeconfig=${dir.adminKubeconfig}`,
    '--leader-elect=false',
    `--controllers=${CONTROLLERS.join(',')}`,
    '--secure-port=0',
    '--use-service-account-credentials=false',
    // The token controller needs the key that signs ServiceAccount tokens, and the CA it
    // publishes into token Secrets.
    `--service-account-private-key-file=${dir.serviceAccountKey}`,
    `--root-ca-file=${dir.caCert}`,
    ...extraArgs,
  ];
}

/** Starts kube-controller-manager; the caller decides what "ready" means (see controlplane.ts). */
export function startControllerManager(binDir: string, dir: WorkDir, extraArgs?: readonly string[]): Supervised {
  return supervise({
    name: 'kube-controller-manager',
    command: join(binDir, 'kube-controller-manager'),
    args: controllerManagerArgs(dir, extraArgs),
    logPath: dir.log('kube-controller-manager'),
  });
}
