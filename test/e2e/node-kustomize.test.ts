// configstamp as it ships, on a real node: the image built by `npm run image`, installed with
// `kubectl apply -k deploy/base` (the shipped manifests, unchanged), running as pods under the
// restricted Pod Security level, with the API server calling the webhook through its Service.
import t from 'tap';
import { freshNamespace, waitFor, withNode } from '../cluster/fixtures.js';
import {
  CONFIGSTAMP_NAMESPACE,
  configstampReady,
  currentPods,
  dryRunStamp,
  greetingOf,
  items,
  ok,
  replicaSets,
  restarts,
  rolledOut,
  sleep,
  trackedApp,
  nodeSkipReason,
} from './node-support.js';
import type { NodeCluster } from '../cluster/node.js';

// Skipped (with the reason printed) only off CI on a machine that cannot run a node.
const skip = nodeSkipReason();
const cluster = (skip === undefined ? await withNode(t) : undefined) as NodeCluster;
if (!skip) t.comment(`node up in ${cluster.nodeTimings.totalMs} ms ${JSON.stringify(cluster.nodeTimings)}`);

t.test('kubectl apply -k deploy/base: the certs Job completes, 2 webhook and 2 watcher pods are Ready', { skip }, async (t) => {
  const started = Date.now();
  await ok(cluster, ['apply', '-k', 'deploy/base']);
  await ok(cluster, ['wait', '-n', CONFIGSTAMP_NAMESPACE, '--for=condition=Complete', 'job/configstamp-certs', '--timeout=120s']);
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
  t.comment(`install to Ready: ${Date.now() - started} ms`);

  const pods = await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods');
  const running = pods.filter((p) => p.status?.phase === 'Running');
  t.equal(running.length, 4, 'four long-running pods');
  t.ok(
    running.every((p) => p.status?.containerStatuses?.every((c) => c.image.endsWith(cluster.image.split('/').slice(1).join('/')))),
    `all run ${cluster.image}`,
  );
  t.same(
    Object.values(await restarts(cluster)).filter((n) => n > 0),
    [],
    'no restarts',
  );

  const labels = JSON.parse(await ok(cluster, ['get', 'ns', CONFIGSTAMP_NAMESPACE, '-o', 'jsonpath={.metadata.labels}'])) as Record<string, string>;
  t.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces restricted');
  const privileged = await cluster.kubectl([
    'run',
    'not-restricted',
    '-n',
    CONFIGSTAMP_NAMESPACE,
    '--dry-run=server',
    `--image=${cluster.image}`,
    '--restart=Never',
  ]);
  t.not(privileged.code, 0, 'a pod without the restricted securityContext is refused there');
  t.match(privileged.stderr, /violates PodSecurity "restricted/);
});

t.test('the API server stamps a tracked Deployment by calling the webhook through its Service', { skip }, async (t) => {
  const ns = await freshNamespace(t, cluster, 'node-stamp');
  await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image).split('---')[0]);
  const slices = await items(cluster, CONFIGSTAMP_NAMESPACE, 'endpointslices', 'kubernetes.io/service-name=configstamp-webhook');
  t.ok(slices.length > 0, 'the webhook Service has endpoints');
  const stamp = await dryRunStamp(cluster, ns);
  t.match(stamp ?? '', /^v1:configmap\/app-config=[0-9a-f]+$/, `server-side dry run comes back stamped (${stamp ?? 'no stamp'})`);
});

t.test('a tracked Deployment: one ReplicaSet; a consumed key change rolls once; an unconsumed one rolls nothing', { skip }, async (t) => {
  const ns = await freshNamespace(t, cluster, 'node-app');
  await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
  await rolledOut(cluster, ns, 'app');
  t.equal((await replicaSets(cluster, ns, 'app')).length, 1, 'created stamped: exactly 1 ReplicaSet');
  const [first] = await currentPods(cluster, ns, 'app');
  t.ok(first, 'a running pod');
  t.equal(await greetingOf(cluster, ns, first!.metadata.name), 'hello', 'the pod sees the first value');

  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"bonjour"}}']);
  await waitFor('a second ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, { timeoutMs: 60_000, intervalMs: 250 });
  await rolledOut(cluster, ns, 'app');
  const [second] = await currentPods(cluster, ns, 'app');
  t.ok(second && second.metadata.uid !== first!.metadata.uid, 'a new pod');
  t.equal(await greetingOf(cluster, ns, second!.metadata.name), 'bonjour', 'the new pod sees the new value');
  await sleep(6_000); // three debounce windows: a second rollout would have started by now
  t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'exactly one new ReplicaSet');

  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"UNUSED":"two"}}']);
  await sleep(6_000);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'the unconsumed key made no ReplicaSet');
  const pods = await items(cluster, ns, 'pods');
  t.same(
    pods.map((p) => p.metadata.uid),
    [second!.metadata.uid],
    'and replaced no pod',
  );
  t.same(
    Object.values(await restarts(cluster)).filter((n) => n > 0),
    [],
    'no configstamp pod restarted',
  );
});

t.test('the leader watcher pod deleted while a change is in flight: the change is applied exactly once', { skip }, async (t) => {
  const ns = await freshNamespace(t, cluster, 'node-leader');
  await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
  await rolledOut(cluster, ns, 'app');
  t.equal((await replicaSets(cluster, ns, 'app')).length, 1, '1 ReplicaSet');
  const leader = (await ok(cluster, ['get', 'lease', 'configstamp-watcher', '-n', CONFIGSTAMP_NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
  const watchers = (await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods', 'app.kubernetes.io/component=watcher')).map((p) => p.metadata.name);
  t.ok(watchers.includes(leader), `the Lease names a watcher pod (${leader})`);

  // Within the debounce window (2 s): the leader has seen the change but not yet patched.
  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"ciao"}}']);
  await ok(cluster, ['delete', 'pod', leader, '-n', CONFIGSTAMP_NAMESPACE, '--wait=false']);
  await waitFor('a second ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, { timeoutMs: 90_000, intervalMs: 250 });
  await rolledOut(cluster, ns, 'app');
  const [pod] = await currentPods(cluster, ns, 'app');
  t.equal(await greetingOf(cluster, ns, pod!.metadata.name), 'ciao', 'the new pod sees the new value');
  await configstampReady(cluster, ['configstamp-watcher']);
  const next = (await ok(cluster, ['get', 'lease', 'configstamp-watcher', '-n', CONFIGSTAMP_NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
  t.not(next, leader, `another pod leads now (${next})`);
  await sleep(8_000); // the replacement pod has booted and compared every stamp by now
  t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'applied exactly once: one new ReplicaSet');
});
