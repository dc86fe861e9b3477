// configstamp as it ships, on a real node, installed with Helm from deploy/helm/configstamp (the
// shipped chart, unchanged) into a namespace that enforces the restricted Pod Security level:
// install --wait, a tracked workload stamped and rolled, an upgrade that rolls nothing, one to a
// new image tag that loses no change made during it, and an uninstall that leaves tracked
// workloads running and unrolled.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshNamespace, waitFor, withNode } from '../cluster/fixtures.js';
import {
  CONFIGSTAMP_NAMESPACE,
  configstampReady,
  currentPods,
  dryRunStamp,
  greetingOf,
  items,
  logsOnFailure,
  nodeSkipReason,
  ok,
  replicaSets,
  restarts,
  rolledOut,
  sleep,
  trackedApp,
} from './node-support.js';
import type { NodeCluster } from '../cluster/node.js';

// Skipped (with the reason printed) only off CI on a machine that cannot run a node.
const skip = nodeSkipReason();
const cluster = (skip === undefined ? await withNode(t) : undefined) as NodeCluster;
if (!skip) logsOnFailure(t, cluster);
if (!skip) t.comment(`node up in ${cluster.nodeTimings.totalMs} ms ${JSON.stringify(cluster.nodeTimings)}`);

// helm gets a home of its own: nothing of the user's is read or written.
const home = mkdtempSync(join(tmpdir(), 'configstamp-node-helm-'));
t.teardown(() => rmSync(home, { recursive: true, force: true }));
function helm(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    };
    delete env.KUBECONFIG;
    const child = spawn(join(cluster.binDir, 'helm'), [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`helm ${args.join(' ')} failed (${String(code)}): ${err.trim()}`))));
  });
}
const chart = 'deploy/helm/configstamp';
// The tracked app's namespace, kept for the whole file: the reinstall test reads what the upgrades left.
const appNs = skip === undefined ? await freshNamespace(t, cluster, 'node-helm') : '';

t.test('helm install --wait into a restricted namespace: 2 webhook and 2 watcher pods Ready', { skip }, async (t) => {
  // As docs/install.md has it, with the restricted label set before the pods exist.
  await ok(cluster, ['create', 'namespace', CONFIGSTAMP_NAMESPACE]);
  await ok(cluster, ['label', 'namespace', CONFIGSTAMP_NAMESPACE, 'pod-security.kubernetes.io/enforce=restricted']);
  const started = Date.now();
  await helm(['install', 'configstamp', chart, '-n', CONFIGSTAMP_NAMESPACE, '--wait', '--timeout=180s']);
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
  t.comment(`helm install to Ready: ${Date.now() - started} ms`);
  const jobs = await items(cluster, CONFIGSTAMP_NAMESPACE, 'jobs');
  t.ok(
    jobs.some((j) => j.metadata.name.startsWith('configstamp-certs')),
    'the certs Job ran',
  );
  t.same(
    Object.values(await restarts(cluster)).filter((n) => n > 0),
    [],
    'no restarts',
  );
});

t.test('stamped through the Service, rolled once on a consumed change; helm upgrade and uninstall roll nothing', { skip }, async (t) => {
  const ns = appNs;
  await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
  t.match((await dryRunStamp(cluster, ns)) ?? '', /^v1:configmap\/app-config=/, 'server-side dry run is stamped');
  await rolledOut(cluster, ns, 'app');
  t.equal((await replicaSets(cluster, ns, 'app')).length, 1, '1 ReplicaSet');

  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"hola"}}']);
  await waitFor('a second ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, { timeoutMs: 60_000, intervalMs: 250 });
  await rolledOut(cluster, ns, 'app');
  const [pod] = await currentPods(cluster, ns, 'app');
  t.equal(await greetingOf(cluster, ns, pod!.metadata.name), 'hola', 'the new pod sees the new value');

  // An upgrade with a changed value restarts configstamp's own pods, and rolls no tracked workload.
  await helm(['upgrade', 'configstamp', chart, '-n', CONFIGSTAMP_NAMESPACE, '--wait', '--timeout=180s', '--set', 'logLevel=debug']);
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
  await sleep(6_000);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'helm upgrade rolled nothing');

  // A new image tag (the same image under another name, as a release would bring), with a
  // consumed change made while the upgrade replaces configstamp's pods: applied exactly once.
  const tagged = `${cluster.image.split(':')[0]!}:0.1.0-upgrade`;
  const tag = await cluster.ctr(['images', 'tag', '--force', cluster.image, tagged]);
  t.equal(tag.code, 0, tag.stderr);
  const upgrade = helm([
    'upgrade',
    'configstamp',
    chart,
    '-n',
    CONFIGSTAMP_NAMESPACE,
    '--wait',
    '--timeout=180s',
    '--reuse-values',
    '--set',
    'image.tag=0.1.0-upgrade',
  ]);
  await sleep(1_000);
  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"during"}}']);
  await upgrade;
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
  // (the pods' spec: containerd reports the image by its first name, and both names are one image)
  // Pods of the old revision may still be terminating: only those not being deleted count.
  const pods = (
    JSON.parse(await ok(cluster, ['get', 'pods', '-n', CONFIGSTAMP_NAMESPACE, '--field-selector=status.phase=Running', '-o', 'json'])) as {
      items: { metadata: { deletionTimestamp?: string }; spec: { containers: { image: string }[] } }[];
    }
  ).items.filter((p) => !p.metadata.deletionTimestamp);
  const images = pods.map((p) => p.spec.containers[0]?.image);
  t.same([...new Set(images)], [tagged], `every running configstamp pod runs the new tag (${images.length} pods)`);
  await waitFor('a third ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= 3, { timeoutMs: 90_000, intervalMs: 250 });
  await rolledOut(cluster, ns, 'app');
  const [during] = await currentPods(cluster, ns, 'app');
  t.equal(await greetingOf(cluster, ns, during!.metadata.name), 'during', 'the change made during the upgrade reached the new pod');
  await sleep(8_000);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 3, 'the change made during the upgrade was applied exactly once');

  await helm(['uninstall', 'configstamp', '-n', CONFIGSTAMP_NAMESPACE, '--wait', '--timeout=120s']);
  const hooks = await cluster.kubectl(['get', 'mutatingwebhookconfiguration', 'configstamp']);
  t.not(hooks.code, 0, 'uninstall removed the MutatingWebhookConfiguration');
  await sleep(3_000);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 3, 'uninstall rolled nothing');
  const after = await currentPods(cluster, ns, 'app');
  t.same(
    after.map((p) => p.metadata.uid),
    [during!.metadata.uid],
    'the tracked pod still runs',
  );
  // With no webhook configuration, an apply still succeeds (unstamped).
  await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hola', 'one', 'later'));
});

t.test('a reinstall after uninstall keeps the hash key and rolls nothing that did not change', { skip }, async (t) => {
  const ns = appNs;
  const keyUid = async (): Promise<string> =>
    ok(cluster, ['get', 'secret', 'configstamp-hash-key', '-n', CONFIGSTAMP_NAMESPACE, '-o', 'jsonpath={.metadata.uid}']);
  const before = await keyUid();
  t.ok(before, 'the hash key outlived the uninstall (it is not part of the release)');
  const sets = (await replicaSets(cluster, ns, 'app')).length;
  await helm(['install', 'configstamp', chart, '-n', CONFIGSTAMP_NAMESPACE, '--wait', '--timeout=180s']);
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
  t.equal(await keyUid(), before, 'the reinstall uses the same hash key');
  await sleep(8_000); // the new leader has compared every stamp by now
  t.equal((await replicaSets(cluster, ns, 'app')).length, sets, 'nothing rolled at the reinstall');
  await waitFor(
    'later adopted',
    async () => {
      const a = JSON.parse(await ok(cluster, ['get', 'deployment', 'later', '-n', ns, '-o', 'jsonpath={.metadata.annotations}'])) as Record<string, string>;
      return a['configstamp.io/adopted-stamp'] !== undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  t.equal((await replicaSets(cluster, ns, 'later')).length, 1, 'what was applied while uninstalled is adopted, not rolled');
  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"again"}}']);
  await waitFor('one more ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= sets + 1, { timeoutMs: 90_000, intervalMs: 250 });
  await sleep(6_000);
  t.equal((await replicaSets(cluster, ns, 'app')).length, sets + 1, 'the reinstalled configstamp rolls a change once');
});
