/**
 * A real Kubernetes control plane for end-to-end tests: etcd, kube-apiserver and
 * kube-controller-manager built from the pinned release (see build.sh), on loopback, with TLS,
 * client-certificate authentication and RBAC, in a temporary directory of its own.
 *
 * startControlPlane() returns once the cluster can run workloads as far as configstamp cares:
 * the API server is ready and the controller manager has created the `default` ServiceAccount.
 * Every component dies with the process that started it (see supervise.ts), however it dies.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess } from '../../shared/kube/access.js';
import { loadKubeConfig } from '../../shared/kube/kubeconfig.js';
import { startApiServer } from './apiserver.js';
import { ensureBinaries } from './binaries.js';
import { startControllerManager } from './controller-manager.js';
import { writeCredentials } from './credentials.js';
import { startEtcd } from './etcd.js';
import { writeKubeconfig } from './kubeconfig.js';
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl.js';
import { freeLoopbackPort } from './ports.js';
import { waitFor } from './readiness.js';
import { serviceAccountKubeconfig, type ServiceAccountKubeconfig } from './service-account.js';
import type { Supervised } from './supervise.js';
import { createWorkDir, disposeWorkDir } from './workdir.js';

export interface ControlPlaneOptions {
  /** Binary cache root; default $CONFIGSTAMP_CACHE or ~/.cache/configstamp. */
  readonly cacheRoot?: string;
  /** Keep the work directory (logs, etcd data) after stop(); default $CONFIGSTAMP_KEEP_CLUSTER=1. */
  readonly keep?: boolean;
  /** Called with one line per start-up step, e.g. for a CLI; default silent. */
  readonly progress?: (line: string) => void;
  /** Extra kube-apiserver flags, after the defaults (the last occurrence of a flag wins). */
  readonly apiServerArgs?: readonly string[];
  readonly controllerManagerArgs?: readonly string[];
  /** Limit for each readiness wait; default 60 s. */
  readonly timeoutMs?: number;
}

export interface ControlPlaneTimings {
  readonly binariesMs: number;
  /** etcd start-up and certificate generation, which overlap. */
  readonly etcdMs: number;
  readonly apiServerMs: number;
  readonly controllerManagerMs: number;
  readonly totalMs: number;
}

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** The cluster CA: serving CA of the API server and its client CA. */
  readonly caPem: string;
  /** Admin kubeconfig (system:masters client certificate, all data embedded). */
  readonly kubeconfigPath: string;
  /** The admin kubeconfig loaded by @kubernetes/client-node, for its generated API clients. */
  readonly kubeConfig: KubeConfig;
  /** The admin kubeconfig loaded by configstamp's own loader, for KubeClient.create. */
  readonly access: ClusterAccess;
  readonly binDir: string;
  /** The work directory: logs are etcd.log, kube-apiserver.log, kube-controller-manager.log. */
  readonly dir: string;
  readonly timings: ControlPlaneTimings;
  /** Runs the real kubectl as admin (or as `options.kubeconfigPath`). */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** A kubeconfig acting as ServiceAccount NAMESPACE/NAME (created if missing), via TokenRequest. */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<ServiceAccountKubeconfig>;
  /**
   * Stops kube-apiserver, runs `whileDown` (if given), and starts it again on the same port with
   * the same etcd data, waiting until it is ready. For tests of behaviour across an API outage.
   */
  restartApiServer(whileDown?: () => Promise<void>): Promise<void>;
  /** Stops every component (controller manager, API server, etcd) and removes the work directory. */
  stop(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const progress = options.progress ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const keep = options.keep ?? process.env.CONFIGSTAMP_KEEP_CLUSTER === '1';
  const t0 = performance.now();
  const lap = (() => {
    let last = t0;
    return () => Math.round(-last + (last = performance.now()));
  })();

  const binDir = await ensureBinaries({ cacheRoot: options.cacheRoot });
  const binariesMs = lap();
  const dir = createWorkDir();
  progress(`work directory ${dir.root}`);
  // Stopped in reverse start order, so no component logs errors about one stopped before it.
  const running: { etcd?: Supervised; apiServer?: Supervised; controllerManager?: Supervised } = {};
  const stopAll = async () => {
    for (const component of [running.controllerManager, running.apiServer, running.etcd]) await component?.stop();
  };

  try {
    progress('starting etcd; making certificates meanwhile');
    const [etcdStarted, credentials] = await Promise.allSettled([startEtcd(binDir, dir, timeoutMs), writeCredentials(dir)]);
    if (etcdStarted.status === 'rejected') throw etcdStarted.reason;
    const etcd = etcdStarted.value;
    running.etcd = etcd.process;
    if (credentials.status === 'rejected') throw credentials.reason;
    const { ca, admin } = credentials.value;
    const etcdMs = lap();

    const port = await freeLoopbackPort();
    const server = `https://127.0.0.1:${port}`;
    const kubeConfig = writeKubeconfig(dir.adminKubeconfig, { server, caPem: ca.certPem, name: 'configstamp-admin', user: admin });
    const access = await loadKubeConfig(dir.adminKubeconfig, { env: {} });
    const tls = { caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem };
    const apiSettings = { binDir, dir, etcdUrl: etcd.clientUrl, port, extraArgs: options.apiServerArgs };
    progress(`starting kube-apiserver on ${server}`);
    running.apiServer = await startApiServer(apiSettings, tls, timeoutMs);
    const apiServerMs = lap();

    progress('starting kube-controller-manager');
    const controllerManager = startControllerManager(binDir, dir, options.controllerManagerArgs);
    running.controllerManager = controllerManager;
    await waitFor('the default ServiceAccount (created by kube-controller-manager)', () => defaultServiceAccountExists(kubeConfig), {
      timeoutMs,
      component: controllerManager,
    });
    const controllerManagerMs = lap();
    const timings = { binariesMs, etcdMs, apiServerMs, controllerManagerMs, totalMs: Math.round(performance.now() - t0) };
    progress(`ready in ${timings.totalMs} ms`);

    let stopping: Promise<void> | undefined;
    const kubectlContext = { binDir, adminKubeconfig: dir.adminKubeconfig, cacheDir: dir.kubectlCache };
    return {
      server,
      caPem: ca.certPem,
      kubeconfigPath: dir.adminKubeconfig,
      kubeConfig,
      access,
      binDir,
      dir: dir.root,
      timings,
      kubectl: (args, kubectlOptions) => runKubectl(kubectlContext, args, kubectlOptions),
      serviceAccountKubeconfig: (namespace, name) => serviceAccountKubeconfig({ admin: kubeConfig, server, caPem: ca.certPem, dir: dir.root }, namespace, name),
      async restartApiServer(whileDown) {
        if (stopping) throw new Error('the control plane is stopped');
        await running.apiServer?.stop();
        running.apiServer = undefined;
        await whileDown?.();
        running.apiServer = await startApiServer(apiSettings, tls, timeoutMs);
      },
      stop() {
        stopping ??= stopAll().then(() => disposeWorkDir(dir, keep));
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    const logs = ['etcd', 'kube-apiserver', 'kube-controller-manager'].map((c) => `  ${dir.log(c)}`).join('\n');
    throw new Error(`control plane failed to start: ${(err as Error).message}\nlogs (kept until this process exits):\n${logs}`, { cause: err });
  }
}

async function defaultServiceAccountExists(kubeConfig: KubeConfig): Promise<boolean> {
  try {
    await kubeConfig.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}
