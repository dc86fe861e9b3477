/**
 * A real one-node cluster for end-to-end tests of configstamp as it ships (as pods, from its
 * image): the control plane of controlplane.ts plus kube-scheduler, containerd, the kubelet and
 * kube-proxy, all in a network namespace of their own, with the image built by `npm run image`
 * imported into the node's containerd.
 *
 *   host (test process)                     network namespace configstamp-ID
 *   127.0.0.1:P  --unix socket-->  node-forward.mjs --> 127.0.0.1:6443 kube-apiserver (0.0.0.0)
 *                                            node IP 10.250.0.2 on bridge node0 (no ports, default route)
 *                                            pods 10.244.0.0/24 on cni0; Services 10.96.0.0/24 (nftables)
 *
 * Host resources (namespaces, cgroups, sysctls) and their teardown are in node-host.ts; one node
 * runs on a machine at a time, and a killed run's node is removed by the next one.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { issueClientCertificate } from '../../certs/pki.js';
import { loadKubeConfig } from '../../shared/kube/kubeconfig.js';
import { apiServerArgs } from './apiserver.js';
import { CONTROL_PLANE_BINARIES, ensureBinaries, NODE_BINARIES } from './binaries.js';
import { CONTROLLERS, controllerManagerArgs } from './controller-manager.js';
import type { ControlPlane } from './controlplane.js';
import { writeCredentials } from './credentials.js';
import { writeKubeconfig } from './kubeconfig.js';
import { runKubectl } from './kubectl.js';
import {
  cleanUpAbandonedNodes,
  createCgroups,
  createMountNamespace,
  createNetwork,
  restoreSysctls,
  runtimeCgroupProcs,
  saveSysctls,
  STATE_DIR,
  takeNodeLock,
  teardownNode,
  writeRecord,
  type NodeRecord,
} from './node-host.js';
import { httpGet, waitFor } from './readiness.js';
import { serviceAccountKubeconfig } from './service-account.js';
import { supervise, type Supervised } from './supervise.js';
import { createWorkDir } from './workdir.js';

const clusterDir = dirname(fileURLToPath(import.meta.url));
const repoDir = join(clusterDir, '..', '..');

export const NODE_NAME = 'configstamp-node';
export const NODE_IP = '10.250.0.2';
export const POD_CIDR = '10.244.0.0/24';
/** The kubernetes Service's ClusterIP, which pods dial; in the API server's certificate. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const SANDBOX_IMAGE = 'registry.k8s.io/pause:3.10.2';
const API_PORT = 6443;
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Controllers a node needs beyond the control plane's: Services' endpoints, node readiness, PDBs, Jobs' TTL. */
export const NODE_CONTROLLERS = [
  'endpointslice-controller',
  'node-lifecycle-controller',
  'ttl-after-finished-controller',
  'disruption-controller',
  'pod-garbage-collector-controller',
] as const;

export interface NodeClusterOptions {
  readonly cacheRoot?: string;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
  /** Limit for each readiness wait; default 120 s. */
  readonly timeoutMs?: number;
}

export interface NodeTimings {
  readonly buildMs: number;
  readonly lockMs: number;
  readonly controlPlaneMs: number;
  readonly imageImportMs: number;
  readonly nodeReadyMs: number;
  readonly totalMs: number;
}

export interface NodeCluster extends ControlPlane {
  readonly nodeName: string;
  readonly nodeIp: string;
  /** The configstamp image as built by `npm run image`, present on the node (IfNotPresent uses it). */
  readonly image: string;
  readonly record: NodeRecord;
  readonly nodeTimings: NodeTimings;
  /** Runs ctr against the node's containerd (namespace k8s.io). */
  ctr(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const lapper = () => {
  let last = performance.now();
  return () => Math.round(-last + (last = performance.now()));
};

export async function startNodeCluster(options: NodeClusterOptions = {}): Promise<NodeCluster> {
  if (process.getuid?.() !== 0) throw new Error('a test node needs root (network namespaces, cgroups, containerd)');
  const progress = options.progress ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const keep = options.keep ?? process.env.CONFIGSTAMP_KEEP_CLUSTER === '1';
  const t0 = performance.now();
  const lap = lapper();

  const binDir = await ensureBinaries({ cacheRoot: options.cacheRoot, names: [...CONTROL_PLANE_BINARIES, ...NODE_BINARIES] });
  progress('image: test/image/build.sh (cached layers)');
  const imageArchive = await runScript(join(repoDir, 'test/image/build.sh'), [], options.cacheRoot, progress);
  const pauseArchive = await runScript(join(repoDir, 'test/image/pause.sh'), [join(binDir, 'pause'), SANDBOX_IMAGE], options.cacheRoot, progress);
  const { version } = JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { version: string };
  const image = `ghcr.io/configstamp/configstamp:${version}`;
  const buildMs = lap();

  const lock = await takeNodeLock(timeoutMs * 4, progress);
  const lockMs = lap();
  let record: NodeRecord | undefined;
  const running: Supervised[] = [];
  let hostProxy: Server | undefined;
  const sockets = new Set<Socket>();

  const stopAll = async () => {
    // reverse start order: node agents, then the control plane
    for (const component of running.slice().reverse()) await component.stop();
    running.length = 0;
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (hostProxy ? hostProxy.close(() => resolve()) : resolve()));
    if (record) await teardownNode(record, { keepDir: keep });
    restoreSysctls();
  };

  try {
    await cleanUpAbandonedNodes();
    const id = randomBytes(3).toString('hex');
    const dir = createWorkDir();
    record = {
      id,
      ownerPid: process.pid,
      netns: `configstamp-${id}`,
      mountNs: join(STATE_DIR, 'mnt', id),
      cgroup: `configstamp-node-${id}`,
      dir: dir.root,
      cniNetwork: `configstamp-${id}`,
    };
    writeRecord(record); // before anything it names exists, so a kill at any point is cleaned up
    progress(`node ${id}: work directory ${dir.root}, network namespace ${record.netns}`);
    saveSysctls();
    createNetwork(record, NODE_IP);
    createMountNamespace(record);
    createCgroups(record);
    const rec = record;

    const netns = ['nsenter', `--net=/run/netns/${rec.netns}`];
    const withMounts = [...netns, `--mount=${rec.mountNs}`];
    // Node processes start in the node's `runtime` cgroup, so their shims and containers do too.
    const inCgroup = (command: readonly string[]) => ['bash', '-c', 'for f in $CGROUP_PROCS; do echo $$ > "$f"; done; exec "$@"', 'cgroup-enter', ...command];
    const env = { ...process.env, PATH, CGROUP_PROCS: runtimeCgroupProcs(rec).join(' ') };
    const start = (name: string, command: readonly string[]): Supervised => {
      const [cmd, ...args] = command;
      const component = supervise({ name, command: cmd!, args, logPath: dir.log(name), env });
      running.push(component);
      return component;
    };

    const credentials = await writeCredentials(dir, { ipAddresses: [KUBERNETES_SERVICE_IP, NODE_IP] });
    const { ca, admin, leafKey } = credentials;
    const client = (commonName: string, organizations: string[]) => issueClientCertificate(ca, { commonName, organizations, validDays: 30, keyPem: leafKey });
    const inNodeServer = `https://${NODE_IP}:${API_PORT}`;
    const inNodeAdmin = join(dir.root, 'admin-in-node.kubeconfig');
    writeKubeconfig(inNodeAdmin, { server: inNodeServer, caPem: ca.certPem, name: 'configstamp-admin', user: admin });
    const kubeletKubeconfig = join(dir.root, 'kubelet.kubeconfig');
    writeKubeconfig(kubeletKubeconfig, {
      server: inNodeServer,
      caPem: ca.certPem,
      name: 'kubelet',
      user: client(`system:node:${NODE_NAME}`, ['system:nodes']),
    });
    const proxyKubeconfig = join(dir.root, 'kube-proxy.kubeconfig');
    writeKubeconfig(proxyKubeconfig, { server: inNodeServer, caPem: ca.certPem, name: 'kube-proxy', user: client('system:kube-proxy', []) });
    const kubeletClient = client('kube-apiserver-kubelet-client', ['system:masters']);
    writeFileSync(join(dir.pki, 'kubelet-client.crt'), kubeletClient.certPem);
    writeFileSync(join(dir.pki, 'kubelet-client.key'), kubeletClient.keyPem, { mode: 0o600 });

    // ---- control plane, inside the namespace ----
    progress('starting etcd');
    const etcdUrl = 'http://127.0.0.1:2379';
    start('etcd', [
      ...netns,
      join(binDir, 'etcd'),
      '--name=configstamp',
      `--data-dir=${dir.etcdData}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=configstamp=http://127.0.0.1:2380',
      '--initial-cluster-state=new',
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    const apiSocket = join(dir.root, 'apiserver.sock');
    const forwarder = start('forward', [...netns, process.execPath, join(clusterDir, 'node-forward.mjs'), `${apiSocket}=127.0.0.1:${API_PORT}`]);
    hostProxy = await listenLoopback(apiSocket, sockets);
    const hostPort = (hostProxy.address() as { port: number }).port;
    const server = `https://127.0.0.1:${hostPort}`;
    const kubeConfig = writeKubeconfig(dir.adminKubeconfig, { server, caPem: ca.certPem, name: 'configstamp-admin', user: admin });
    const access = await loadKubeConfig(dir.adminKubeconfig, { env: {} });
    const tls = { caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem };

    const apiArgs = apiServerArgs({
      binDir,
      dir,
      etcdUrl,
      port: API_PORT,
      extraArgs: [
        '--bind-address=0.0.0.0',
        `--advertise-address=${NODE_IP}`,
        '--enable-admission-plugins=NodeRestriction',
        `--kubelet-client-certificate=${join(dir.pki, 'kubelet-client.crt')}`,
        `--kubelet-client-key=${join(dir.pki, 'kubelet-client.key')}`,
        '--kubelet-preferred-address-types=InternalIP',
      ],
    });
    let apiServer: Supervised | undefined;
    const startApi = async () => {
      progress('starting kube-apiserver');
      apiServer = start('kube-apiserver', [...netns, join(binDir, 'kube-apiserver'), ...apiArgs]);
      const component = apiServer;
      await waitFor('kube-apiserver /readyz', async () => (await httpGet(`${server}/readyz`, tls)).status === 200, { timeoutMs, component });
      if (forwarder.hasExited()) throw new Error(`the API forwarder exited; see ${forwarder.logPath}`);
    };
    await startApi();

    progress('starting containerd, kube-controller-manager, kube-scheduler');
    const containerd = writeContainerdConfig(dir.root, rec);
    start('containerd', inCgroup([...withMounts, 'containerd', `--config=${containerd.config}`]));
    const cm = start('kube-controller-manager', [
      ...netns,
      join(binDir, 'kube-controller-manager'),
      ...controllerManagerArgs(dir, [`--kubeconfig=${inNodeAdmin}`, `--controllers=${[...CONTROLLERS, ...NODE_CONTROLLERS].join(',')}`]),
    ]);
    start('kube-scheduler', [...netns, join(binDir, 'kube-scheduler'), `--kubeconfig=${inNodeAdmin}`, '--leader-elect=false', '--secure-port=0']);
    const controlPlaneMs = lap();

    const ctr = (args: readonly string[]) => runCommand('ctr', ['--address', containerd.socket, '--namespace', 'k8s.io', ...args]);
    await waitFor('containerd', async () => (await ctr(['version'])).code === 0, { timeoutMs, component: running.find((c) => c.name === 'containerd') });
    progress('importing the configstamp and pause images into containerd');
    for (const archive of [pauseArchive, imageArchive]) {
      const r = await ctr(['images', 'import', archive]);
      if (r.code !== 0) throw new Error(`ctr images import ${archive} failed: ${r.stderr.trim()}`);
    }
    const imageImportMs = lap();

    progress('starting kubelet and kube-proxy');
    const kubelet = writeKubeletConfig(dir.root, rec, ca.certPem, containerd.socket);
    start(
      'kubelet',
      inCgroup([
        ...withMounts,
        join(binDir, 'kubelet'),
        `--config=${kubelet.config}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${kubelet.rootDir}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
        '--v=1',
      ]),
    );
    const proxyConfig = writeKubeProxyConfig(dir.root, proxyKubeconfig);
    start('kube-proxy', inCgroup([...netns, join(binDir, 'kube-proxy'), `--config=${proxyConfig}`]));

    const kubectlContext = { binDir, adminKubeconfig: dir.adminKubeconfig, cacheDir: dir.kubectlCache };
    const kubectl: ControlPlane['kubectl'] = (args, kubectlOptions) => runKubectl(kubectlContext, args, kubectlOptions);
    const kubeletComponent = running.find((c) => c.name === 'kubelet');
    await waitFor(
      `node ${NODE_NAME} Ready`,
      async () => {
        const r = await kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return r.code === 0 && r.stdout.trim() === 'True';
      },
      { timeoutMs, component: kubeletComponent, intervalMs: 250 },
    );
    // The new Node's not-ready taint is lifted by node-lifecycle-controller; pods wait for that.
    await waitFor(
      'the node to lose its not-ready taint and the default ServiceAccount',
      async () => {
        const r = await kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.spec.taints}']);
        if (r.code !== 0 || r.stdout.includes('not-ready')) return false;
        try {
          await kubeConfig.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs, component: cm, intervalMs: 250 },
    );
    const nodeReadyMs = lap();
    const nodeTimings = { buildMs, lockMs, controlPlaneMs, imageImportMs, nodeReadyMs, totalMs: Math.round(performance.now() - t0) };
    progress(`node ready in ${nodeTimings.totalMs} ms (${JSON.stringify(nodeTimings)})`);

    let stopping: Promise<void> | undefined;
    return {
      server,
      caPem: ca.certPem,
      kubeconfigPath: dir.adminKubeconfig,
      kubeConfig,
      access,
      binDir,
      dir: dir.root,
      timings: { binariesMs: buildMs, etcdMs: 0, apiServerMs: controlPlaneMs, controllerManagerMs: 0, totalMs: nodeTimings.totalMs },
      nodeTimings,
      nodeName: NODE_NAME,
      nodeIp: NODE_IP,
      image,
      record: rec,
      kubectl,
      ctr,
      serviceAccountKubeconfig: (namespace, name) => serviceAccountKubeconfig({ admin: kubeConfig, server, caPem: ca.certPem, dir: dir.root }, namespace, name),
      async restartApiServer(whileDown) {
        if (stopping) throw new Error('the cluster is stopped');
        const old = apiServer;
        await old?.stop();
        if (old) running.splice(running.indexOf(old), 1);
        await whileDown?.();
        await startApi();
      },
      stop() {
        stopping ??= stopAll().finally(() => lock.release());
        return stopping;
      },
    };
  } catch (err) {
    try {
      await stopAll();
    } finally {
      lock.release();
    }
    throw new Error(
      `test node failed to start: ${(err as Error).message}${record ? `\nlogs: ${record.dir}/*.log (removed unless CONFIGSTAMP_KEEP_CLUSTER=1)` : ''}`,
      { cause: err },
    );
  }
}

/** 127.0.0.1:random, each connection piped to the Unix socket the in-namespace forwarder serves. */
function listenLoopback(socketPath: string, sockets: Set<Socket>): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  });
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve(server));
  });
}

function writeContainerdConfig(root: string, record: NodeRecord): { config: string; socket: string } {
  const base = join(root, 'containerd');
  const cni = join(root, 'cni');
  for (const d of [base, join(cni, 'net.d'), join(cni, 'ipam')]) mkdirSync(d, { recursive: true });
  writeFileSync(
    join(cni, 'net.d', '10-configstamp.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: record.cniNetwork,
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(cni, 'ipam') },
        },
      ],
    }),
  );
  const socket = join(base, 'containerd.sock');
  const config = join(base, 'config.toml');
  const q = (s: string) => JSON.stringify(s);
  writeFileSync(
    config,
    `version = 2
root = ${q(join(base, 'root'))}
state = ${q(join(base, 'state'))}
[grpc]
  address = ${q(socket)}
[ttrpc]
  address = ${q(`${socket}.ttrpc`)}
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(base, 'opt'))}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(SANDBOX_IMAGE)}
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(join(base, 'runc'))}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${q(join(cni, 'net.d'))}
`,
  );
  return { config, socket };
}

function writeKubeletConfig(root: string, record: NodeRecord, caPem: string, containerdSocket: string): { config: string; rootDir: string } {
  const rootDir = join(root, 'kubelet');
  mkdirSync(rootDir, { recursive: true });
  const caFile = join(root, 'pki', 'ca.crt');
  if (!existsSync(caFile)) writeFileSync(caFile, caPem);
  const config = join(root, 'kubelet-config.yaml');
  writeFileSync(
    config,
    stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // This machine has cgroup v1 only (hybrid: the unified hierarchy has no controllers).
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${record.cgroup}`,
      failSwapOn: false,
      address: NODE_IP,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: caFile } },
      authorization: { mode: 'Webhook' },
      containerRuntimeEndpoint: `unix://${containerdSocket}`,
      podLogsDir: join(root, 'pod-logs'),
      clusterDomain: 'cluster.local',
      resolvConf: '/etc/resolv.conf',
      // A test machine's disk may be fuller than a real node's: evict and collect images late.
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
    }),
  );
  return { config, rootDir };
}

function writeKubeProxyConfig(root: string, kubeconfig: string): string {
  const config = join(root, 'kube-proxy-config.yaml');
  writeFileSync(
    config,
    stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'nftables',
      clusterCIDR: POD_CIDR,
      hostnameOverride: NODE_NAME,
      clientConnection: { kubeconfig },
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      // 0 everywhere: leave the machine-wide conntrack sysctls alone.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    }),
  );
  return config;
}

function runCommand(command: string, args: readonly string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs an image script; its progress (stderr) goes to `progress`, its last stdout line is returned. */
async function runScript(script: string, args: readonly string[], cacheRoot: string | undefined, progress: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:${PATH}`, ...(cacheRoot ? { CONFIGSTAMP_CACHE: cacheRoot } : {}) };
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderrTail = (stderrTail + c).slice(-4000);
      for (const line of c.split('\n')) if (line.trim() !== '') progress(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && last !== '') resolve(last);
      else reject(new Error(`${script} failed (${String(code)}):\n${stderrTail}`));
    });
  });
}
