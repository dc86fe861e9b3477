// configstamp as it ships, on a real node: the image built by `npm run image`, installed with
// `kubectl apply -k deploy/base` (the shipped manifests, unchanged), running as pods under the
// restricted Pod Security level, with the API server calling the webhook through its Service.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import t from 'tap';
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

  // Within the debounce (this workload's own 3 s, so kubectl's start-up cannot outlast it): the
  // leader has seen the change but not yet patched.
  await ok(cluster, ['annotate', 'deployment', 'app', '-n', ns, 'configstamp.io/debounce=3s']);
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

t.test(
  'certificate rotation through the shipped CronJob: the webhook pods reload the rotated Secret volume without a restart; every create meanwhile is stamped',
  { skip },
  async (t) => {
    const ns = await freshNamespace(t, cluster, 'node-rotate');
    await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image).split('---')[0]);
    const servingCert = async (): Promise<string> =>
      ok(cluster, ['get', 'secret', 'configstamp-webhook-tls', '-n', CONFIGSTAMP_NAMESPACE, '-o', 'jsonpath={.data.tls\\.crt}']);
    const before = await servingCert();
    const webhookPods = (await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods', 'app.kubernetes.io/component=webhook'))
      .filter((p) => p.status?.phase === 'Running')
      .map((p) => p.metadata.name);
    t.equal(webhookPods.length, 2, 'two webhook pods');
    const reloaded = async (pod: string): Promise<boolean> =>
      (await ok(cluster, ['logs', pod, '-n', CONFIGSTAMP_NAMESPACE])).includes('serving certificate reloaded');

    // Creates all through the rotation: each must come back stamped.
    let stop = false;
    const samples: (string | undefined)[] = [];
    const loop = (async () => {
      while (!stop) {
        samples.push(await dryRunStamp(cluster, ns));
        await sleep(250);
      }
    })();

    // The shipped CronJob's Job, run now with the serving certificate due (renew 100 years early).
    const job = JSON.parse(
      await ok(cluster, [
        'create',
        'job',
        'configstamp-certs-rotate',
        '--from=cronjob/configstamp-certs',
        '-n',
        CONFIGSTAMP_NAMESPACE,
        '--dry-run=client',
        '-o',
        'json',
      ]),
    ) as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
    const container = job.spec.template.spec.containers[0]!;
    container.env = [...(container.env ?? []), { name: 'CONFIGSTAMP_CERT_RENEW_BEFORE', value: '876000h' }];
    await ok(cluster, ['create', '-f', '-'], JSON.stringify(job));
    await ok(cluster, ['wait', '-n', CONFIGSTAMP_NAMESPACE, '--for=condition=Complete', 'job/configstamp-certs-rotate', '--timeout=120s']);
    t.not(await servingCert(), before, 'the Job reissued the serving certificate');
    // The kubelet refreshes Secret volumes on its pod sync (about a minute); the webhook watches the files.
    await waitFor('both webhook pods reload it', async () => (await Promise.all(webhookPods.map(reloaded))).every(Boolean), {
      timeoutMs: 180_000,
      intervalMs: 2_000,
    });
    await sleep(2_000);
    stop = true;
    await loop;
    t.ok(samples.length >= 10, `${samples.length} creates during the rotation`);
    t.same(
      samples.filter((s) => !/^v1:configmap\/app-config=[0-9a-f]{16}$/.test(s ?? '')),
      [],
      'every one of them came back stamped',
    );
    t.same(
      Object.values(await restarts(cluster)).filter((n) => n > 0),
      [],
      'no configstamp pod restarted',
    );
  },
);

t.test(
  'a customised install re-applied with a changed setting (kubectl apply -k) restarts configstamp and rolls no tracked workload; a change during it rolls once',
  { skip },
  async (t) => {
    const ns = await freshNamespace(t, cluster, 'node-upgrade');
    await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
    await rolledOut(cluster, ns, 'app');
    t.equal((await replicaSets(cluster, ns, 'app')).length, 1, '1 ReplicaSet');
    // The user's overlay over the shipped base: the watcher at debug level.
    const overlay = mkdtempSync(join(tmpdir(), 'configstamp-overlay-'));
    t.teardown(() => rmSync(overlay, { recursive: true, force: true }));
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      `resources:\n  - ${relative(overlay, resolve('deploy/base'))}\npatches:\n  - target: { kind: Deployment, name: configstamp-watcher }\n    patch: |-\n      - op: add\n        path: /spec/template/spec/containers/0/args/-\n        value: --log-level=debug\n`,
    );
    const watchersBefore = (await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods', 'app.kubernetes.io/component=watcher')).map((p) => p.metadata.uid);
    await ok(cluster, ['apply', '-k', overlay]);
    await sleep(1_000);
    await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"during"}}']);
    await ok(cluster, ['rollout', 'status', '-n', CONFIGSTAMP_NAMESPACE, 'deployment/configstamp-watcher', '--timeout=180s']);
    await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
    // Pods of the old revision may still be terminating: wait until only new ones run.
    const replaced = async (): Promise<boolean> => {
      const pods = (await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods', 'app.kubernetes.io/component=watcher')).filter(
        (p) => (p.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined,
      );
      return pods.length === 2 && pods.every((p) => !watchersBefore.includes(p.metadata.uid));
    };
    await waitFor('both watcher pods replaced', replaced, { timeoutMs: 60_000, intervalMs: 500 });
    t.ok(await replaced(), 'both watcher pods were replaced');
    await waitFor('a second ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, { timeoutMs: 90_000, intervalMs: 250 });
    await rolledOut(cluster, ns, 'app');
    const [pod] = await currentPods(cluster, ns, 'app');
    t.equal(await greetingOf(cluster, ns, pod!.metadata.name), 'during', 'the change made during the upgrade reached the new pod');
    await sleep(8_000);
    t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'the upgrade rolled nothing, the change exactly once');
  },
);

t.test(
  'a new image tag through kustomize (the documented upgrade: delete the finished Job, apply -k): every configstamp pod runs it, no tracked workload rolls, a change during it rolls once',
  { skip },
  async (t) => {
    const ns = await freshNamespace(t, cluster, 'node-newtag');
    await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
    await rolledOut(cluster, ns, 'app');
    // The same image under another tag, as a release would bring (no registry here).
    const tagged = `${cluster.image.split(':')[0]!}:0.1.0-upgrade`;
    const tag = await cluster.ctr(['images', 'tag', '--force', cluster.image, tagged]);
    t.equal(tag.code, 0, tag.stderr);
    const overlay = mkdtempSync(join(tmpdir(), 'configstamp-newtag-'));
    t.teardown(() => rmSync(overlay, { recursive: true, force: true }));
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      `resources:\n  - ${relative(overlay, resolve('deploy/base'))}\nimages:\n  - name: ghcr.io/configstamp/configstamp\n    newTag: 0.1.0-upgrade\n`,
    );
    // docs/install.md: a finished install Job's template is immutable, so it goes before the apply.
    await ok(cluster, ['delete', 'job', 'configstamp-certs', '-n', CONFIGSTAMP_NAMESPACE, '--ignore-not-found']);
    await ok(cluster, ['apply', '-k', overlay]);
    await sleep(1_000);
    await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"nouveau"}}']);
    for (const d of ['configstamp-webhook', 'configstamp-watcher']) {
      await ok(cluster, ['rollout', 'status', '-n', CONFIGSTAMP_NAMESPACE, `deployment/${d}`, '--timeout=180s']);
    }
    await ok(cluster, ['wait', '-n', CONFIGSTAMP_NAMESPACE, '--for=condition=Complete', 'job/configstamp-certs', '--timeout=120s']);
    await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
    const running = async (): Promise<string[]> =>
      (await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods'))
        .filter((p) => (p.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined && p.status?.phase === 'Running')
        .map((p) => (p as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image);
    await waitFor('only pods of the new tag run', async () => (await running()).every((i) => i === tagged), { timeoutMs: 60_000, intervalMs: 500 });
    const images = await running();
    t.same([images.length, [...new Set(images)]], [4, [tagged]], 'all 4 configstamp pods run the new tag');
    await waitFor('the change rolled', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, { timeoutMs: 90_000, intervalMs: 250 });
    await rolledOut(cluster, ns, 'app');
    const [pod] = await currentPods(cluster, ns, 'app');
    t.equal(await greetingOf(cluster, ns, pod!.metadata.name), 'nouveau', 'the change made during the upgrade reached the new pod');
    await sleep(6_000);
    t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'the upgrade rolled nothing, the change exactly once');
  },
);

t.test(
  'kubectl delete -k, then apply -k again: the hash key goes with the namespace; the reinstall re-keys, rolling only what changed meanwhile',
  { skip },
  async (t) => {
    const ns = await freshNamespace(t, cluster, 'node-reinstall');
    await ok(cluster, ['apply', '-f', '-'], `${trackedApp(ns, cluster.image)}\n---\n${trackedApp(ns, cluster.image, 'hello', 'one', 'other')}`);
    await rolledOut(cluster, ns, 'app');
    await rolledOut(cluster, ns, 'other');
    const keyUid = async (): Promise<string> =>
      ok(cluster, ['get', 'secret', 'configstamp-hash-key', '-n', CONFIGSTAMP_NAMESPACE, '-o', 'jsonpath={.metadata.uid}']);
    const before = await keyUid();
    const versions = async (name: string): Promise<string | undefined> =>
      (JSON.parse(await ok(cluster, ['get', 'deployment', name, '-n', ns, '-o', 'jsonpath={.metadata.annotations}'])) as Record<string, string>)[
        'configstamp.io/source-versions'
      ];
    t.match(await versions('app'), /^v2:[0-9a-f]{32}:configmap\/app-config=\d+$/, 'the webhook recorded the version it digested, sealed');

    await ok(cluster, ['delete', '-k', 'deploy/base', '--wait=true', '--timeout=180s']);
    t.not((await cluster.kubectl(['get', 'mutatingwebhookconfiguration', 'configstamp'])).code, 0, 'the webhook configuration is gone');
    t.not((await cluster.kubectl(['get', 'namespace', CONFIGSTAMP_NAMESPACE])).code, 0, 'and the namespace, with the hash key');
    await ok(cluster, ['patch', 'configmap', 'other-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"meanwhile"}}']);
    t.same(
      [(await replicaSets(cluster, ns, 'app')).length, (await replicaSets(cluster, ns, 'other')).length],
      [1, 1],
      'the uninstall rolled nothing; the workloads still run',
    );

    await ok(cluster, ['apply', '-k', 'deploy/base']);
    await ok(cluster, ['wait', '-n', CONFIGSTAMP_NAMESPACE, '--for=condition=Complete', 'job/configstamp-certs', '--timeout=120s']);
    await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
    t.not(await keyUid(), before, 'the reinstall made a new hash key');
    await waitFor('other rolled', async () => (await replicaSets(cluster, ns, 'other')).length >= 2, { timeoutMs: 90_000, intervalMs: 250 });
    await rolledOut(cluster, ns, 'other');
    const [pod] = await currentPods(cluster, ns, 'other');
    t.equal(await greetingOf(cluster, ns, pod!.metadata.name), 'meanwhile', 'the change made while configstamp was gone reached the new pod');
    await waitFor(
      'app re-keyed',
      async () =>
        (JSON.parse(await ok(cluster, ['get', 'deployment', 'app', '-n', ns, '-o', 'jsonpath={.metadata.annotations}'])) as Record<string, string>)[
          'configstamp.io/restarted-stamp'
        ] !== undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await sleep(5_000);
    t.same(
      [(await replicaSets(cluster, ns, 'app')).length, (await replicaSets(cluster, ns, 'other')).length],
      [1, 2],
      'app, unchanged: re-keyed, not rolled; other: rolled exactly once',
    );
  },
);
