/**
 * `npm run cluster`: the end-to-end control plane in the foreground, for poking at by hand with
 * kubectl, or for running the webhook and watcher against while developing them.
 * First SIGINT/SIGTERM stops the components in order and removes the work directory; a second
 * one, pressed later (signals.ts), exits at once (the components still die: see supervise.ts).
 */
import { pinnedVersions } from './binaries.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { startNodeCluster } from './node.js';
import { onStopSignals } from './signals.js';

const USAGE = `usage: npm run cluster [-- --keep] [-- --node]

Starts etcd, kube-apiserver and kube-controller-manager (Kubernetes ${pinnedVersions().kubernetes}) on
127.0.0.1 and prints a KUBECONFIG to use with them. Ctrl-C stops them.

  --node   also a real node (kube-scheduler, containerd, kubelet, kube-proxy) in a network
           namespace of its own, with the configstamp image (npm run image) imported; needs root
  --keep   keep the work directory (logs, etcd data) after stopping
           (same as CONFIGSTAMP_KEEP_CLUSTER=1)

Environment: CONFIGSTAMP_CACHE (binary cache root), CONFIGSTAMP_GO_PARALLEL (go build -p).
`;

const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);

async function main(argv: readonly string[]): Promise<void> {
  const unknown = argv.filter((a) => !['--keep', '--node', '--help', '-h'].includes(a));
  if (argv.includes('--help') || argv.includes('-h') || unknown.length > 0) {
    if (unknown.length > 0) log(`unknown argument(s): ${unknown.join(' ')}`);
    process.stderr.write(USAGE);
    process.exitCode = unknown.length > 0 ? 2 : 0;
    return;
  }

  // Signals can arrive while the control plane is still starting: remember them.
  const state: { cluster?: ControlPlane; signals: number } = { signals: 0 };
  onStopSignals((signal) => {
    state.signals += 1;
    if (state.cluster) void shutDown(state.cluster, signal);
    else log(`${signal}: will stop once start-up has finished (again to exit now)`);
  }, log);

  const options = { progress: log, keep: argv.includes('--keep') || undefined };
  const node = argv.includes('--node');
  const cluster = node ? await startNodeCluster(options) : await startControlPlane(options);
  state.cluster = cluster;
  const t = cluster.timings;
  if (!node) log(`start-up: etcd and certificates ${t.etcdMs} ms, kube-apiserver ${t.apiServerMs} ms, kube-controller-manager ${t.controllerManagerMs} ms`);
  process.stdout.write(
    [
      '',
      `server:     ${cluster.server}`,
      `kubeconfig: ${cluster.kubeconfigPath}`,
      node
        ? `logs:       ${cluster.dir}/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler,containerd,kubelet,kube-proxy}.log`
        : `logs:       ${cluster.dir}/{etcd,kube-apiserver,kube-controller-manager}.log`,
      `binaries:   ${cluster.binDir}`,
      '',
      'In another shell:',
      `  export KUBECONFIG=${cluster.kubeconfigPath}`,
      `  export PATH=${cluster.binDir}:$PATH   # the matching kubectl`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (state.signals > 0) return shutDown(cluster, 'SIGINT');
  setInterval(() => undefined, 1 << 30); // stay up until a signal arrives
}

async function shutDown(cluster: ControlPlane, signal: string): Promise<void> {
  log(`${signal}: stopping (again to exit now)`);
  await cluster.stop();
  log(process.env.CONFIGSTAMP_KEEP_CLUSTER === '1' || process.argv.includes('--keep') ? `stopped; kept ${cluster.dir}` : 'stopped');
  process.exit(0);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  log((err as Error).message);
  process.exit(1);
});
