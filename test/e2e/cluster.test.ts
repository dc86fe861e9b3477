// Smoke tests of the end-to-end control plane itself (test/cluster/): if these fail, every other
// e2e failure is suspect. They drive the real kubectl, as users do.
import t from 'tap';
import { AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from '../cluster/controlplane.js';
import { freshNamespace, waitFor, withControlPlane, type TeardownTarget } from '../cluster/fixtures.js';
import { processesMentioning } from '../cluster/processes.js';
import { httpGet } from '../cluster/readiness.js';

const cluster = await withControlPlane(t);
t.comment(`control plane ready in ${cluster.timings.totalMs} ms (${JSON.stringify(cluster.timings)})`);

const appManifest = (namespace: string) => `
apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: app-config, namespace: ${namespace} }
data: { GREETING: hello }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: app, namespace: ${namespace} }
spec:
  replicas: 1
  selector: { matchLabels: { app: app } }
  template:
    metadata: { labels: { app: app } }
    spec:
      containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          envFrom: [{ configMapRef: { name: app-config } }]
`;

async function replicaSetsOf(kubeConfig: KubeConfig, namespace: string, deployment: string): Promise<string[]> {
  const list = await kubeConfig.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace });
  return list.items
    .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === deployment))
    .map((rs) => rs.metadata?.name ?? '');
}

t.test('the API server reports the pinned version', async (t) => {
  const version = await cluster.kubectl(['version', '-o', 'json']);
  t.equal(version.code, 0, version.stderr);
  const parsed = JSON.parse(version.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
  t.equal(parsed.serverVersion.gitVersion, 'v1.37.2');
  t.equal(parsed.clientVersion.gitVersion, 'v1.37.2', 'kubectl is the pinned build too');
  const raw = await httpGet(`${cluster.server}/version`, { caPem: cluster.caPem });
  t.equal(raw.status, 200, 'served over TLS with the cluster CA');
  t.match(JSON.parse(raw.body), { gitVersion: 'v1.37.2', major: '1', minor: '37' });
});

t.test('a Deployment gets exactly one ReplicaSet, and a rollout restart a second', async (t) => {
  const namespace = `app-${process.pid}`;
  t.teardown(() => cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']));
  const applied = await cluster.kubectl(['apply', '-f', '-'], { input: appManifest(namespace) });
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /deployment.apps\/app created/);

  let names: string[] = [];
  const count = (n: number) => async () => (names = await replicaSetsOf(cluster.kubeConfig, namespace, 'app')).length >= n;
  await waitFor('the first ReplicaSet', count(1), { timeoutMs: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal((await replicaSetsOf(cluster.kubeConfig, namespace, 'app')).length, 1, 'still exactly one after a pause');

  const restarted = await cluster.kubectl(['rollout', 'restart', 'deployment/app', '-n', namespace]);
  t.equal(restarted.code, 0, restarted.stderr);
  await waitFor('the second ReplicaSet', count(2), { timeoutMs: 30_000 });
  t.equal(names.length, 2);
});

t.test('a ServiceAccount kubeconfig gets what RBAC grants and nothing else', async (t) => {
  const namespace = await freshNamespace(t, cluster, 'rbac');
  const sa = await cluster.serviceAccountKubeconfig(namespace, 'reader');
  const asReader = { kubeconfigPath: sa.path };
  const canI = (verb: string, resource: string) => cluster.kubectl(['auth', 'can-i', verb, resource, '-n', namespace], asReader);

  const before = await canI('list', 'configmaps');
  t.equal(before.stdout.trim(), 'no');
  t.equal(before.code, 1);
  const denied = await cluster.kubectl(['get', 'configmaps', '-n', namespace], asReader);
  t.not(denied.code, 0);
  t.match(denied.stderr, /forbidden.*system:serviceaccount:[^:]+:reader/i, 'a real request is refused with 403 for that user');

  const granted = await cluster.kubectl(['create', 'role', 'read-config', '--verb=get,list,watch', '--resource=configmaps', '-n', namespace]);
  t.equal(granted.code, 0, granted.stderr);
  const bound = await cluster.kubectl(['create', 'rolebinding', 'reader', '--role=read-config', `--serviceaccount=${namespace}:reader`, '-n', namespace]);
  t.equal(bound.code, 0, bound.stderr);

  await waitFor('RBAC to see the RoleBinding', async () => (await canI('list', 'configmaps')).stdout.trim() === 'yes', { timeoutMs: 10_000 });
  const listed = await cluster.kubectl(['get', 'configmaps', '-n', namespace, '-o', 'name'], asReader);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /configmap\/kube-root-ca.crt/, 'the root CA publisher ran');
  t.equal((await canI('list', 'secrets')).stdout.trim(), 'no', 'secrets were not granted');
  t.equal((await canI('patch', 'configmaps')).stdout.trim(), 'no', 'nor writes');
});

t.test('restartApiServer keeps the data; stop() leaves no process and no directory', async (t) => {
  const own = await startControlPlane();
  t.teardown(() => own.stop());
  const created = await own.kubectl(['create', 'configmap', 'survivor', '--from-literal=k=v']);
  t.equal(created.code, 0, created.stderr);

  let downMessage = '';
  await own.restartApiServer(async () => {
    downMessage = (await own.kubectl(['get', 'configmap', 'survivor'], { timeoutMs: 10_000 })).stderr;
  });
  t.match(downMessage, /refused|unable to connect/i, 'kubectl fails while the API server is down');
  const after = await own.kubectl(['get', 'configmap', 'survivor', '-o', 'jsonpath={.data.k}']);
  t.equal(after.stdout, 'v', 'the same etcd data is served after the restart');

  t.not(processesMentioning(own.dir).length, 0, 'components run while started');
  await own.stop();
  t.same(processesMentioning(own.dir), [], 'no component or watchdog left');
  t.notOk(existsSync(own.dir), 'work directory removed');
});

const cli = fileURLToPath(new URL('../cluster/cli.ts', import.meta.url));

/** Starts `npm run cluster`'s script as a direct child (no npm/npx in between) and waits for its kubeconfig line. */
async function startClusterCli(t: TeardownTarget) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // tap's coverage hooks are not for this child
  const child = spawn(process.execPath, ['--import', 'tsx', cli], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor('the CLI to print its kubeconfig', async () => /^kubeconfig: /m.test(stdout) || child.exitCode !== null, { timeoutMs: 120_000 });
  const kubeconfig = /^kubeconfig: (.+)$/m.exec(stdout)?.[1];
  if (!kubeconfig) throw new Error(`the CLI exited without a kubeconfig:\n${stderr}`);
  if (!stdout.includes(`export KUBECONFIG=${kubeconfig}`)) throw new Error(`no export line in:\n${stdout}`);
  return { child, dir: dirname(kubeconfig), exited, output: () => stdout + stderr };
}

t.test('SIGKILL of the process that started the control plane leaves no orphan', async (t) => {
  const { child, dir } = await startClusterCli(t);
  t.not(processesMentioning(dir).length, 0);
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await waitFor('every component to exit', async () => processesMentioning(dir).length === 0, { timeoutMs: 10_000, intervalMs: 100 });
  t.pass(`no etcd, kube-apiserver or kube-controller-manager left after ${Date.now() - killedAt} ms`);
  rmSync(dir, { recursive: true, force: true }); // nobody else will: its owner was killed
});

t.test('npm run cluster stops cleanly on SIGINT', async (t) => {
  const { child, dir, exited, output } = await startClusterCli(t);
  child.kill('SIGINT');
  t.equal(await exited, 0, 'exit code 0', { output: output() });
  t.same(processesMentioning(dir), []);
  t.notOk(existsSync(dir), 'work directory removed');
});
